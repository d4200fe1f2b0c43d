"""Audio retention with real stores: old audio goes, an anchor takes its place, children keep
what they still need, and a prune killed midway leaves the store as it was."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MEETING, notice
from nacl.signing import SigningKey

from lowband.node.node import Node, Role
from lowband.origin.append import append, create_meeting
from lowband.origin.origin import Origin
from lowband.protocol.model import CaptionLine, Kind
from lowband.protocol.receiver import Receiver
from lowband.protocol.serve import Follower
from lowband.protocol.wire import AnchorFrame, FrameReader, ProtocolError, StreamRef, encode_body
from lowband.relay.retention import Cursors, Retention, prune
from lowband.relay.source import Views
from lowband.storage.store import Store

AUDIO = "audio/floor/nb6"
HOUR = 3600 * 1000
T0 = 1_700_000_000_000  # the meeting's epoch
STEP = HOUR // 2  # one audio event (and one signature) every half hour
KEEP = Retention(audio_hours=24, child_hours=24)


class Tree:
    """An origin and a relay mirroring it, both real stores, on a clock the test moves."""

    def __init__(self, tmp: Path) -> None:
        self.key = SigningKey.generate()
        self.origin = Store(tmp / "origin.sqlite")
        self.info = create_meeting(self.origin, self.key, MEETING, notice(), T0)
        self.signer = Origin(self.origin, self.key, "origin")
        self.relay = Store(tmp / "relay.sqlite")
        self.relay.add_meeting(self.info, "http://origin")
        self.mirror = Node(self.relay, MEETING, Role.RELAY, "nairobi", audio={AUDIO})
        self.cursors = Cursors(self.relay)
        self.now = T0

    def publish(self, n: int) -> None:
        """n audio events and captions, STEP apart, each signed and mirrored at once."""
        for _ in range(n):
            self.now += STEP
            with self.origin.tx():
                append(self.origin, self.info, AUDIO, Kind.AUDIO, bytes(300), self.now)
                line = encode_body(CaptionLine("CHAIR", "Kenya has the floor."))
                append(self.origin, self.info, "transcript/en", Kind.CAPTION, line, self.now)
            self.signer.sign_due(self.now)
            pull(self.origin, self.mirror)

    def close(self) -> None:
        self.origin.close()
        self.relay.close()


def pull(parent: Store, node: Node) -> None:
    """One whole exchange: serve `node`'s request from `parent`, apply it as the client does."""
    follower = Follower(node.request(live=False, checkpoint_every=0), 0.0)
    data = b""
    while frames := follower.pull(Views(parent).get(MEETING, 0), 0.0):
        data += b"".join(frames)
    receiver = node.receiver()
    for frame in FrameReader().feed(data):
        node.apply(receiver.on_frame(frame), T0)


def audio_seqs(store: Store) -> list[int]:
    no = store.stream_no(MEETING, AUDIO)
    assert no is not None
    return [seq for seq, *_ in store.events(MEETING, no, 0, 10_000)]


def state(store: Store, name: str) -> tuple[int, int]:
    no = store.stream_no(MEETING, name)
    return next((head, verified) for n, _, head, verified in store.streams(MEETING) if n == no)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Tree]:
    t = Tree(tmp_path)
    t.publish(60)  # 30 hours of audio and captions
    yield t
    t.close()


def test_prune_drops_only_audio_older_than_the_age(tree: Tree) -> None:
    assert prune(tree.relay, MEETING, KEEP, tree.cursors, tree.now) == 1
    kept = audio_seqs(tree.relay)
    # Event k is k half-hours in; the newest older than 24 h is 11 (5.5 h): the anchor.
    assert kept == list(range(12, 61))
    assert state(tree.relay, "transcript/en") == (60, 60)
    no = tree.relay.stream_no(MEETING, "transcript/en")
    assert no is not None and len(tree.relay.events(MEETING, no, 0, 1000)) == 60
    assert tree.relay.anchors(MEETING)[tree.relay.stream_no(MEETING, AUDIO) or 0].seq == 11
    assert prune(tree.relay, MEETING, KEEP, tree.cursors, tree.now) == 0  # nothing more yet


def test_a_new_child_starts_at_the_anchor_and_verifies_onward(tree: Tree, tmp_path: Path) -> None:
    prune(tree.relay, MEETING, KEEP, tree.cursors, tree.now)
    with Store(tmp_path / "child.sqlite") as child:
        child.add_meeting(tree.info, "http://nairobi")
        node = Node(child, MEETING, Role.CLIENT, "amina", audio={AUDIO})
        pull(tree.relay, node)
        assert audio_seqs(child) == list(range(12, 61))
        assert state(child, AUDIO) == (60, 60)  # verified against the origin's signature
        assert state(child, "transcript/en") == (60, 60)  # captions from the first line
        tree.publish(2)
        pull(tree.relay, node)
        assert state(child, AUDIO) == (62, 62)
        # The child serves its own children from the anchor in turn.
        with Store(tmp_path / "grandchild.sqlite") as grand:
            grand.add_meeting(tree.info, "http://amina")
            pull(child, Node(grand, MEETING, Role.CLIENT, "baraka", audio={AUDIO}))
            assert state(grand, AUDIO) == (62, 62)


def test_a_child_still_behind_keeps_its_events(tree: Tree, tmp_path: Path) -> None:
    with Store(tmp_path / "child.sqlite") as child:
        child.add_meeting(tree.info, "http://nairobi")
        node = Node(child, MEETING, Role.CLIENT, "amina", audio={AUDIO})
        pull(tree.origin, node)
        with child.tx():
            child.truncate_after(MEETING, child.stream_no(MEETING, AUDIO) or 0, 5)
        tree.cursors.seen(node.request(live=False), tree.now)  # it reports cursor 5
        prune(tree.relay, MEETING, KEEP, tree.cursors, tree.now)
        assert audio_seqs(tree.relay)[0] == 6  # pruned only up to its cursor
        pull(tree.relay, node)
        assert audio_seqs(child) == list(range(1, 61))  # no gap: it caught up event by event
        # 25 hours later, with no report since, the child no longer holds pruning back.
        tree.publish(50)
        prune(tree.relay, MEETING, KEEP, tree.cursors, tree.now)
        assert audio_seqs(tree.relay)[0] == 62  # event 61 is 30.5 h in, 24.5 h old


def test_an_anchor_that_is_not_signed_or_not_audio_is_refused(tree: Tree) -> None:
    prune(tree.relay, MEETING, KEEP, tree.cursors, tree.now)
    no = tree.relay.stream_no(MEETING, AUDIO) or 0
    a = tree.relay.anchors(MEETING)[no]
    cp_ts = a.checkpoint.ts_ms - T0
    receiver = Receiver(MEETING, tree.info.origin_key, T0, [])
    receiver.on_frame(StreamRef(no, AUDIO))
    receiver.on_frame(StreamRef(99, "transcript/en"))
    forged = AnchorFrame(no, a.seq, a.ts, bytes(32), cp_ts, a.checkpoint.sig)
    with pytest.raises(ProtocolError, match="not signed by the origin"):
        receiver.on_frame(forged)
    with pytest.raises(ProtocolError, match="only audio"):
        receiver.on_frame(AnchorFrame(99, a.seq, a.ts, a.hash, cp_ts, a.checkpoint.sig))
    assert receiver.on_frame(AnchorFrame(no, a.seq, a.ts, a.hash, cp_ts, a.checkpoint.sig))
    assert receiver.streams[no].head == receiver.streams[no].verified == a.seq


KILLED = """
import os, signal, sys
from lowband.relay.retention import Cursors, Retention, prune
from lowband.storage.store import Store

store = Store(sys.argv[1])
real = Store.set_anchor

def set_anchor_then_die(self, *args):
    real(self, *args)  # the old events are deleted, the transaction is not committed
    os.kill(os.getpid(), signal.SIGKILL)

Store.set_anchor = set_anchor_then_die
prune(store, "pp26", Retention(24, 24), Cursors(store), int(sys.argv[2]))
"""


def test_a_prune_killed_midway_leaves_the_store_whole(tree: Tree) -> None:
    before = audio_seqs(tree.relay)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED), str(tree.relay.path), str(tree.now)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr
    with Store(tree.relay.path) as reopened:
        assert reopened.one("PRAGMA integrity_check") == ("ok",)
        assert audio_seqs(reopened) == before
        assert reopened.anchors(MEETING) == {}
    assert prune(tree.relay, MEETING, KEEP, tree.cursors, tree.now) == 1
