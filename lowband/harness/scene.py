"""A meeting over an emulated bad link, as real processes: the cast that the link benchmark,
the soak and tests/e2e/test_links.py share.

Owns setting the scene and driving it: an origin and a regional relay (`testbed.Relay`), a
meeting on Resolution 167 with one delegate on its roster, the link emulator (in this process,
so its byte counters can be read) between the delegate and the relay, the delegate's follower
process, captioners that publish real text at speaking pace with the secretariat's key, and
submissions queued from the delegate's home. Only 127.0.0.1 is used. Must not measure or
judge: `harness/linkprobe.py` watches and `harness/audit.py` checks.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from lowband.delegate.join import JoinError, join
from lowband.delegate.outbox import submit, sync_once
from lowband.harness.demo import chinese_lines, seconds_for, text_lines
from lowband.harness.testbed import Follower, Relay, cli, stream_state, wait_for
from lowband.http import LinkError
from lowband.linkem import LinkEmulatorThread, LinkProfile
from lowband.meeting.captions import split_speaker
from lowband.node.home import load_key, load_or_create_key
from lowband.origin.append import append, create_meeting
from lowband.protocol.model import (
    AgendaItem,
    CaptionLine,
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
from lowband.protocol.submissions import State
from lowband.protocol.wire import encode_body
from lowband.storage import submissions as queues
from lowband.storage.store import Store

MEETING = "pp-res167"
LINE_CHARS = 72  # CART captioners write lines of about this many characters
SAYINGS = [
    "Kenya supports the text and asks that notices state the rights of remote participants.",
    "We ask that regional offices receive the means to hold electronic meetings.",
    "Remote delegates should take part in decisions on an equal footing.",
    "We support captions and interpretation for every session, in every official language.",
]


def caption_lines(lang: str) -> list[tuple[str, str]]:
    """(speaker, text) caption lines of real text: the English script cut to caption width,
    or the Chinese seed text of the resolution."""
    if lang == "zh":
        return [("SECRETARIAT", text) for text in chinese_lines()]
    if lang != "en":
        raise ValueError(f"There is caption text for en and zh, not {lang!r}.")
    out: list[tuple[str, str]] = []
    speaker = "CHAIR"
    for raw in text_lines("res167_en.txt"):
        if not raw.strip():
            continue
        speaker, text = split_speaker(raw, speaker)
        width = min(LINE_CHARS, -(-len(text) // -(-len(text) // LINE_CHARS)) + 8)  # even lines
        line = ""
        for word in text.split():
            if line and len(line) + 1 + len(word) > width:
                out.append((speaker, line))
                line = ""
            line = f"{line} {word}".strip()
        if line:
            out.append((speaker, line))
    return out


@dataclass
class Scene:
    """Origin, regional relay, emulated link and delegate; `close()` ends every process."""

    work: Path
    profile: LinkProfile
    seed: int = 1
    lang: str = "en"
    meeting: str = MEETING
    command: str = "follow"
    origin: Relay | None = None
    relay: Relay | None = None
    link: LinkEmulatorThread | None = None
    follower: Follower | None = None
    captioners: list[Captioner] = field(default_factory=list)
    owns_work: bool = False

    @classmethod
    def start(
        cls,
        profile: LinkProfile,
        work: Path | None = None,
        *,
        seed: int = 1,
        lang: str = "en",
        command: str = "follow",
    ) -> Scene:
        """Set the whole scene and return once the delegate follows through the link."""
        owns = work is None
        scene = cls(
            work or Path(tempfile.mkdtemp(prefix="lowband-scene-")),
            profile,
            seed,
            lang,
            command=command,
            owns_work=owns,
        )
        try:
            scene._set()
        except BaseException:
            scene.close()
            raise
        return scene

    def _set(self) -> None:
        w = self.work
        dkey = load_or_create_key(self.delegate_home / "key")
        self.origin = Relay(w / "origin", "--origin", name="origin-geneva", log=w / "origin.log")
        self._create_meeting(bytes(dkey.verify_key))
        self.relay = Relay(
            w / "relay", "--parent", self.origin.url, name="relay-nairobi", log=w / "relay.log"
        )
        wait_for(
            lambda: stream_state(w / "relay", self.meeting, "roster")[1] >= 2,
            what="the relay to mirror the meeting and verify its roster",
        )
        self.link = LinkEmulatorThread(
            "127.0.0.1", 0, "127.0.0.1", self.relay.port, self.profile, self.seed
        )
        self.link.start()
        with Store(self.delegate_home / "store.sqlite") as store:
            asyncio.run(join(store, self.link_url, self.meeting))
        self.follower = Follower(self.delegate_home, self.meeting, self.lang, self.command)
        self.follower.start()
        wait_for(
            lambda: stream_state(self.delegate_home, self.meeting, "roster")[0] >= 2,
            timeout=120,
            what="the delegate to sync through the link",
        )

    def _create_meeting(self, delegate_key: bytes) -> None:
        key = load_or_create_key(self.origin_home / "key")  # the origin process wrote it
        notice = Notice(
            "ITU Council working group: Resolution 167 (remote participation)",
            MeetingKind.HYBRID,
            Rights.SPEAK,
            [Session("2026-12-01T08:00:00Z", "2026-12-01T11:00:00Z", "Morning")],
            ["en", "zh"],
            "Europe/Zurich",
            [AgendaItem("1", "Opening"), AgendaItem("2", "Resolution 167")],
        )
        with Store(self.origin_home / "store.sqlite") as store:
            info = create_meeting(store, key, self.meeting, notice, now_ms())
            entry = RosterEntry(delegate_key, "Amina Odhiambo", "Kenya", Rights.SPEAK)
            with store.tx():
                append(store, info, "roster", Kind.ROSTER, encode_body(entry), now_ms())

    @property
    def origin_home(self) -> Path:
        return self.work / "origin"

    @property
    def relay_home(self) -> Path:
        return self.work / "relay"

    @property
    def delegate_home(self) -> Path:
        return self.work / "delegate"

    @property
    def link_url(self) -> str:
        assert self.link is not None
        return f"http://127.0.0.1:{self.link.port}"

    def caption(self, lang: str, pace: float = 1.0, limit: int | None = None) -> Captioner:
        """Start a captioner on transcript/<lang>; `pace` 2 speaks twice as fast."""
        cap = Captioner(self, lang, pace, limit)
        self.captioners.append(cap)
        cap.start()
        return cap

    def submit(self, kind: SubKind, text: str = "") -> bytes:
        """Queue a submission in the delegate's outbox in this process (what the CLI calls)."""
        key = load_key(self.delegate_home / "key")
        body = encode_body(SubmissionText(text, "2")) if kind is SubKind.INTERVENTION else b""
        with Store(self.delegate_home / "store.sqlite") as store:
            return submit(store, key, self.meeting, kind, body).sub_id

    def submit_cli(self, kind: SubKind, text: str = "") -> bytes:
        """Queue a submission with `lowband say|floor ... --wait 0`; the follower sends it."""
        m = ["--meeting", self.meeting, "--wait", "0"]
        if kind is SubKind.INTERVENTION:
            out = cli(self.delegate_home, "say", text, *m).stdout
        else:
            action = {
                SubKind.FLOOR_REQUEST: "request",
                SubKind.FLOOR_WITHDRAW: "withdraw",
                SubKind.POINT_OF_ORDER: "point-of-order",
            }[kind]
            out = cli(self.delegate_home, "floor", action, *m).stdout
        found = re.search(r"Queued \S+ as ([0-9a-f]{32})\.", out)
        if found is None:
            raise AssertionError(f"lowband did not say what it queued: {out}")
        return bytes.fromhex(found.group(1))

    def stop_captions(self) -> None:
        for cap in self.captioners:
            cap.stop()

    def close(self) -> None:
        self.stop_captions()
        if self.follower is not None:
            self.follower.stop()
        if self.link is not None:
            self.link.stop()
        for relay in (self.relay, self.origin):
            if relay is not None:
                relay.stop()
        if self.owns_work:
            shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> Scene:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Captioner:
    """Publishes real caption lines at speaking pace, as a CART captioner would, straight to
    the origin with the secretariat's key; a line the origin does not take now stays queued
    in the captioner's outbox and goes with the next one."""

    def __init__(self, scene: Scene, lang: str, pace: float, limit: int | None) -> None:
        self.scene, self.lang, self.pace, self.limit = scene, lang, pace, limit
        self.home = scene.work / f"captioner-{lang}"
        self.published: list[tuple[float, str, str]] = []  # (time queued, speaker, text)
        self.wrapped_at: float | None = None  # when the text ran out and began again
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"captioner-{lang}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop now: what is already queued is still sent, for up to a minute."""
        self._stop.set()
        self._thread.join(120)

    def wait(self, timeout: float) -> None:
        """Wait until a captioner with a `limit` has published (and sent) every line."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"captioner-{self.lang} still busy after {timeout:.0f} s")

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        assert self.scene.origin is not None
        key = load_key(self.scene.origin_home / "key")  # only the secretariat may publish
        url = self.scene.origin.url
        text = caption_lines(self.lang)
        lines: Iterator[tuple[str, str]] = itertools.cycle(text)
        if self.limit is not None:
            lines = itertools.islice(lines, self.limit)
        with Store(self.home / "store.sqlite") as store:
            while store.meeting(self.scene.meeting) is None and not self._stop.is_set():
                try:
                    asyncio.run(join(store, url, self.scene.meeting))
                except JoinError:
                    self._stop.wait(0.5)
            for speaker, said in lines:
                if self._stop.wait(seconds_for(said) / self.pace):
                    break
                pub = encode_publish(self.lang, speaker, said)
                submit(store, key, self.scene.meeting, SubKind.PUBLISH, pub)
                if len(self.published) == len(text):
                    self.wrapped_at = time.time()
                self.published.append((time.time(), speaker, said))
                try:
                    name = f"captioner-{self.lang}"
                    asyncio.run(sync_once(store, self.scene.meeting, name, with_events=False))
                except LinkError:
                    self.failures += 1  # the origin is down: the line waits in the outbox
            deadline = time.monotonic() + 60
            while _queued(store, self.scene.meeting) and time.monotonic() < deadline:
                try:
                    asyncio.run(
                        sync_once(store, self.scene.meeting, "captioner", with_events=False)
                    )
                except LinkError:
                    time.sleep(0.5)


def encode_publish(lang: str, speaker: str, text: str) -> bytes:
    line = encode_body(CaptionLine(speaker, text))
    return encode_body(Publish(f"transcript/{lang}", Kind.CAPTION, line))


def _queued(store: Store, meeting: str) -> bool:
    return any(i.state is State.QUEUED for i in queues.outbox(store, meeting))


class Submitter:
    """What the delegate sends: floor requests and withdrawals in turn, and interventions."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.in_queue = False
        self.count = 0

    def next(self) -> tuple[SubKind, str]:
        self.count += 1
        if self.rng.random() < 0.5:
            return SubKind.INTERVENTION, f"{self.rng.choice(SAYINGS)} (#{self.count})"
        self.in_queue = not self.in_queue
        return (SubKind.FLOOR_REQUEST if self.in_queue else SubKind.FLOOR_WITHDRAW), ""


def now_ms() -> int:
    return int(time.time() * 1000)
