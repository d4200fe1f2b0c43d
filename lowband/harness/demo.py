"""The demo: a simulated hybrid meeting followed by a delegate over an emulated bad link.

Owns the scripted scene the README's first command shows: an origin and a
regional relay as real processes on 127.0.0.1, a meeting on ITU Resolution
167, captioners replaying real text (English, and the Chinese seed text) at
160 words a minute, and a delegate behind the link emulator who follows the
transcript, asks for the floor and sends a written intervention, and a chair
who gives the delegate the floor, while the floor's audio plays (a recorded sentence
pair, looped, in three Opus layers) and the secretariat publishes a draft of the resolution
and, a minute later, an amended revision. By default the delegate's terminal client
opens on the scene (and the captions stop after `duration`; quit with q);
with `plain` it prints what the delegate sees, then the bytes the link carried.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from lowband.audio.avio import iter_pcm48
from lowband.audio.publish import Publisher, PublishError
from lowband.delegate.follow import follow
from lowband.delegate.join import join
from lowband.delegate.outbox import submit, sync_once
from lowband.documents import publish
from lowband.documents.transfer import TransferError
from lowband.harness.testbed import Relay
from lowband.linkem import LinkEmulatorThread, get_profile
from lowband.meeting.captions import split_speaker
from lowband.node.home import load_or_create_key
from lowband.origin.append import append, create_meeting
from lowband.protocol.model import (
    AgendaItem,
    CaptionLine,
    ChairAction,
    ChairVerb,
    Kind,
    MeetingKind,
    Notice,
    Publish,
    Rights,
    RosterEntry,
    Session,
    SubKind,
    SubmissionText,
)
from lowband.protocol.submissions import describe
from lowband.protocol.wire import encode_body
from lowband.storage import submissions as queues
from lowband.storage.store import Store

MEETING = "pp-res167"
WORDS_PER_MINUTE = 160


def text_lines(name: str) -> list[str]:
    return resources.files("lowband.data").joinpath(name).read_text(encoding="utf-8").splitlines()


def chinese_lines(width: int = 24) -> list[str]:
    """The Chinese seed text as caption lines of about 72 bytes."""
    out = []
    for para in text_lines("res167_zh.txt"):
        para = para.strip()
        while para:
            out.append(para[:width])
            para = para[width:]
    return out


def seconds_for(text: str) -> float:
    words = len(text.split()) if " " in text else max(1, len(text) // 2)
    return 60.0 * words / WORDS_PER_MINUTE


def setup_meeting(origin_home: Path, delegate_key: bytes) -> None:
    key = load_or_create_key(origin_home / "key")
    notice = Notice(
        "ITU Council working group: Resolution 167 (remote participation)",
        MeetingKind.HYBRID,
        Rights.SPEAK,
        [Session("2026-12-01T08:00:00Z", "2026-12-01T11:00:00Z", "Morning")],
        ["en", "zh"],
        "Europe/Zurich",
        [AgendaItem("1", "Opening"), AgendaItem("2", "Resolution 167")],
    )
    with Store(origin_home / "store.sqlite") as store:
        info = create_meeting(store, key, MEETING, notice, int(time.time() * 1000))
        entry = RosterEntry(delegate_key, "Amina Odhiambo", "Kenya", Rights.SPEAK)
        with store.tx():
            append(store, info, "roster", Kind.ROSTER, encode_body(entry), int(time.time() * 1000))


def captioner(
    home: Path, key_path: Path, origin_url: str, lang: str, lines: list[str], stop: threading.Event
) -> None:
    """Publish `lines` on transcript/<lang> at speaking pace, as a CART captioner would."""
    key = load_or_create_key(key_path)  # the secretariat's key: only it may publish
    with Store(home / "store.sqlite") as store:
        asyncio.run(join(store, origin_url, MEETING))
        speaker = "SECRETARIAT"
        for raw in lines:
            if stop.wait(seconds_for(raw)):
                return
            speaker, text = split_speaker(raw, speaker)
            pub = Publish(
                f"transcript/{lang}", Kind.CAPTION, encode_body(CaptionLine(speaker, text))
            )
            submit(store, key, MEETING, SubKind.PUBLISH, encode_body(pub))
            asyncio.run(
                sync_once(store, MEETING, f"captioner-{lang}", with_events=False, url=origin_url)
            )


def delegate_actions(home: Path, stop: threading.Event, say: list[str]) -> None:
    """The delegate asks for the floor, then sends a written intervention."""
    key = load_or_create_key(home / "key")
    with Store(home / "store.sqlite") as store:
        for when, kind, body in [
            (15, SubKind.FLOOR_REQUEST, b""),
            (
                15,
                SubKind.INTERVENTION,
                encode_body(
                    SubmissionText(
                        "Kenya supports the text and asks that notices state the rights of remote "
                        "participants.",
                        "2",
                    )
                ),
            ),
        ]:
            if stop.wait(when):
                return
            sub = submit(store, key, MEETING, kind, body)
            say.append(f"(you queued {kind}: {sub.sub_id.hex()[:12]})")


def chair_actions(home: Path, key_path: Path, origin_url: str, stop: threading.Event) -> None:
    """The chair (the secretariat's key) gives the floor to the next speaker, then ends the turn."""
    key = load_or_create_key(key_path)
    with Store(home / "store.sqlite") as store:
        asyncio.run(join(store, origin_url, MEETING))
        for when, verb in [(40, ChairVerb.NEXT), (30, ChairVerb.RELEASE)]:
            if stop.wait(when):
                return
            submit(store, key, MEETING, SubKind.CHAIR, encode_body(ChairAction(verb)))
            asyncio.run(sync_once(store, MEETING, "chair", with_events=False, url=origin_url))


def secretariat_documents(
    home: Path, key_path: Path, origin_url: str, stop: threading.Event, notes: list[str]
) -> None:
    """The draft under discussion: Resolution 167 as revision 1, then, a minute later, a
    revision 2 with one paragraph amended, so the delegate fetches a small delta (d, then g)."""
    key = load_or_create_key(key_path)
    draft = home / "res167-draft.txt"
    text = resources.files("lowband.data").joinpath("res167_en.txt").read_text(encoding="utf-8")
    amended = text.replace("electronic meetings", "electronic and hybrid meetings", 1)
    with Store(home / "store.sqlite") as store:
        asyncio.run(join(store, origin_url, MEETING))
        for version, wait in ((text, 0.0), (amended, 60.0)):
            if stop.wait(wait):
                return
            draft.write_text(version, encoding="utf-8")
            asyncio.run(sync_once(store, MEETING, "secretariat-docs", url=origin_url, key=key))
            try:
                doc, _ = asyncio.run(
                    publish.publish(
                        store,
                        key,
                        origin_url,
                        MEETING,
                        draft,
                        doc_id="res167-draft",
                        title="Draft revision of Resolution 167",
                        agenda_item="2",
                    )
                )
            except (TransferError, ValueError) as exc:
                notes.append(f"(the draft was not published: {exc})")
                return
            if doc is not None:
                notes.append(f"(the secretariat published {doc.doc_id} revision {doc.rev})")


def floor_microphone(
    home: Path, key_path: Path, origin_url: str, stop: threading.Event, notes: list[str]
) -> None:
    """The room's floor channel: a recorded sentence pair, looped and published in real time
    as the three Opus layers, so the delegate can listen (v in the client)."""
    key = load_or_create_key(key_path)

    def speech() -> Iterator[bytes]:
        with resources.as_file(resources.files("lowband.data") / "speech.ogg") as path:
            while not stop.is_set():
                yield from iter_pcm48(str(path))

    with Store(home / "store.sqlite") as store:
        asyncio.run(join(store, origin_url, MEETING))
        asyncio.run(sync_once(store, MEETING, "floor", url=origin_url))  # the roster
        try:
            publisher = Publisher(store, key, MEETING, origin_url, "floor")
            asyncio.run(publisher.run(speech(), realtime=True))
        except PublishError as exc:
            notes.append(f"(the floor's audio stopped: {exc})")


def run(
    duration: float,
    profile: str,
    lang: str,
    keep: bool,
    out: Callable[[str], None] = print,
    plain: bool = False,
) -> int:
    work = Path(tempfile.mkdtemp(prefix="lowband-demo-"))
    stop = threading.Event()
    procs: list[Relay] = []
    try:
        delegate = work / "delegate"
        dkey = load_or_create_key(delegate / "key")
        origin = Relay(work / "origin", "--origin", name="origin-geneva")
        procs.append(origin)
        setup_meeting(work / "origin", bytes(dkey.verify_key))
        relay = Relay(work / "relay", "--parent", origin.url, name="relay-nairobi")
        procs.append(relay)
        link = LinkEmulatorThread(
            "127.0.0.1", 0, "127.0.0.1", relay.port, get_profile(profile), seed=1
        )
        link.start()
        out(
            f"lowband demo: origin {origin.url}, relay {relay.url}, "
            f"delegate behind an emulated '{profile}' link on 127.0.0.1:{link.port}."
        )
        time.sleep(1.0)  # let the relay mirror the notice and roster
        with Store(delegate / "store.sqlite") as store:
            asyncio.run(join(store, f"http://127.0.0.1:{link.port}", MEETING))
        notes: list[str] = []
        threads = [
            threading.Thread(
                target=captioner,
                daemon=True,
                args=(
                    work / "cap-en",
                    work / "origin" / "key",
                    origin.url,
                    "en",
                    text_lines("res167_en.txt"),
                    stop,
                ),
            ),
            threading.Thread(
                target=captioner,
                daemon=True,
                args=(
                    work / "cap-zh",
                    work / "origin" / "key",
                    origin.url,
                    "zh",
                    chinese_lines(),
                    stop,
                ),
            ),
            threading.Thread(target=delegate_actions, args=(delegate, stop, notes), daemon=True),
            threading.Thread(
                target=secretariat_documents,
                args=(work / "docs", work / "origin" / "key", origin.url, stop, notes),
                daemon=True,
            ),
            threading.Thread(
                target=floor_microphone,
                args=(work / "floor", work / "origin" / "key", origin.url, stop, notes),
                daemon=True,
            ),
            threading.Thread(
                target=chair_actions,
                args=(work / "chair", work / "origin" / "key", origin.url, stop),
                daemon=True,
            ),
        ]
        for t in threads:
            t.start()

        def show(line: str) -> None:
            while notes:
                out(notes.pop(0))
            out(line)

        async def watch() -> None:
            done = asyncio.Event()
            asyncio.get_running_loop().call_later(duration, done.set)
            with Store(delegate / "store.sqlite") as store:
                await follow(store, MEETING, "delegate-amina", lang, show, stop=done)

        if plain:
            asyncio.run(watch())
        else:
            from lowband.client import make_app

            timer = threading.Timer(duration, stop.set)
            timer.daemon = True
            timer.start()
            make_app(delegate, MEETING, lang=lang).run()
            timer.cancel()
        stop.set()
        for t in threads:
            t.join(10)
        stats = link.stats()
        link.stop()
        with Store(delegate / "store.sqlite") as store:
            for item in queues.outbox(store, MEETING):
                out(f"Your {item.kind}: {describe(item.state, item.node, item.reason)}.")
        out(
            f"The '{profile}' link carried {stats['bytes_down']} bytes down and "
            f"{stats['bytes_up']} bytes up in {duration:.0f} s."
        )
        return 0
    finally:
        stop.set()
        for p in reversed(procs):
            p.stop()
        if keep:
            out(f"The demo's homes are kept in {work}.")
        else:
            shutil.rmtree(work, ignore_errors=True)
