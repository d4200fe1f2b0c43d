"""Documents inside the sync exchange: the serving plan's rules (after higher priorities, once
per exchange, only what is ready) and the node's checks on what arrives, on real stores."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import msgspec
from conftest import MEETING, World, now_ms
from exchange_support import publish_captions, receive, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lowband.documents.forms import encode_form
from lowband.documents.inline import INLINE_LIMIT, INLINE_UNMEASURED, InlineDocs, inline_budget
from lowband.node.node import Node, Role
from lowband.origin.append import append
from lowband.protocol.model import DocRevision, Kind
from lowband.protocol.receiver import InlineDoc
from lowband.protocol.serve import Follower, Inline
from lowband.protocol.wire import DocForm, EventFrame, FrameReader, encode_body, encode_frame
from lowband.relay.source import Views
from lowband.storage.blobs import BlobStore
from lowband.storage.store import Store

R1 = b"Draft resolution on remote participation.\n" * 40
R2 = R1.replace(b"remote", b"fair remote", 1)


def publish_doc(world: World, data: bytes, rev: int) -> str:
    info = world.origin_store.meeting(MEETING)
    assert info is not None
    sha = hashlib.sha256(data).digest()
    doc = DocRevision("draft", rev, "Draft", "en", "3", "text/plain", len(data), sha)
    with world.origin_store.tx():
        append(world.origin_store, info, "docs", Kind.DOC, encode_body(doc), now_ms())
    return sha.hex()


class Forms:
    """Stands in for relay/inline.py: a form is prepared on the second look."""

    def __init__(self, frame: bytes | Inline) -> None:
        self.frame_bytes, self.looks = frame, 0
        self.asked: list[tuple[str, frozenset[bytes], int]] = []

    def targets(self, meeting: str, after: int, upto: int) -> list[str]:
        return [hashlib.sha256(R2).hexdigest()] if after < 2 <= upto else []

    def frame(self, target: str, held: frozenset[bytes], limit: int) -> bytes | Inline:
        self.looks += 1
        self.asked.append((target, held, limit))
        return Inline.LATER if self.looks == 1 else self.frame_bytes


def _frames(data: list[bytes]) -> list[object]:
    return list(FrameReader().feed(b"".join(data)))


def test_a_form_goes_once_after_the_events_of_the_same_pull(
    world: World, client_store: Store
) -> None:
    docs = InlineDocs(client_store, MEETING)
    node = Node(client_store, MEETING, Role.CLIENT, "d1", inline_limit=4096, inline=docs)
    publish_doc(world, R1, 1)
    receive(node, serve(world, node), random.Random(1))
    publish_doc(world, R2, 2)
    r1 = bytes.fromhex(hashlib.sha256(R1).hexdigest()[:16])
    publish_captions(world, 3)
    form = encode_frame(DocForm(bytes.fromhex(hashlib.sha256(R2).hexdigest()[:16]), r1, b"x"))
    forms = Forms(form)
    views = Views(world.origin_store)
    views.forms = forms  # type: ignore[assignment]
    req = node.request(live=True)
    assert req.docs_held == [] and req.inline_limit == 4096  # r1's blob is not held yet
    follower = Follower(msgspec.structs.replace(req, docs_held=[r1]), 0.0)
    first = _frames(follower.pull(views.get(MEETING, 0), 0.0))
    assert not any(isinstance(f, DocForm) for f in first)  # being prepared
    assert not follower.caught_up(views.get(MEETING, 0))  # a one-off exchange waits for it
    second = _frames(follower.pull(views.get(MEETING, 0), 1.0))
    assert isinstance(second[-1], DocForm) and second[-1].base == r1
    assert forms.asked[0][1] == frozenset([r1]) and forms.asked[0][2] == 4096
    assert not any(
        isinstance(f, DocForm) for f in _frames(follower.pull(views.get(MEETING, 0), 2.0))
    )
    events = [f for f in first if isinstance(f, EventFrame)]
    assert events  # the captions and the docs event went first, in the first pull


def test_no_inline_limit_asks_for_nothing(world: World, client_store: Store) -> None:
    node = Node(client_store, MEETING, Role.CLIENT, "d1")
    publish_doc(world, R1, 1)
    forms = Forms(Inline.NEVER)
    views = Views(world.origin_store)
    views.forms = forms  # type: ignore[assignment]
    follower = Follower(node.request(live=True), 0.0)
    for now in range(3):
        follower.pull(views.get(MEETING, 0), float(now))
    assert forms.looks == 0 and follower.caught_up(views.get(MEETING, 0))


def _synced(world: World, store: Store, tmp_path: Path) -> tuple[Node, InlineDocs]:
    docs = InlineDocs(store, MEETING, tmp_path / "home")
    node = Node(store, MEETING, Role.CLIENT, "d1", inline_limit=4096, inline=docs)
    publish_doc(world, R1, 1)
    publish_doc(world, R2, 2)
    receive(node, serve(world, node), random.Random(2))
    return node, docs


def test_a_good_form_is_stored_and_written_once_its_event_is_verified(
    world: World, client_store: Store, tmp_path: Path
) -> None:
    node, docs = _synced(world, client_store, tmp_path)
    blobs = BlobStore(client_store)
    r1, r2 = hashlib.sha256(R1).hexdigest(), hashlib.sha256(R2).hexdigest()
    blobs.put(R1, r1)
    delta = encode_form(R2, {r1[:16]: R1})
    node.apply([InlineDoc(bytes.fromhex(r2[:16]), bytes.fromhex(r1[:16]), delta.data)], now_ms())
    assert blobs.has(r2) and docs.received == 1 and not node.refused
    written = tmp_path / "home" / "documents" / MEETING / "draft-r2.txt"
    assert not written.exists()  # no checkpoint covers the docs event yet
    world.origin.sign_due(now_ms())
    receive(node, serve(world, node), random.Random(3))
    assert written.read_bytes() == R2
    assert node.request(live=True).docs_held == [bytes.fromhex(r2[:16])]


def test_bad_forms_are_refused_in_one_sentence_and_nothing_is_kept(
    world: World, client_store: Store, tmp_path: Path
) -> None:
    node, docs = _synced(world, client_store, tmp_path)
    r1, r2 = hashlib.sha256(R1).hexdigest(), hashlib.sha256(R2).hexdigest()
    target = bytes.fromhex(r2[:16])
    cases = [
        InlineDoc(target, b"", encode_form(R1, {}).data),  # another revision's content
        InlineDoc(target, bytes.fromhex(r1[:16]), encode_form(R2, {r1[:16]: R1}).data),  # no r1
        InlineDoc(target, b"", b"\x00junk"),
        InlineDoc(bytes(8), b"", encode_form(R2, {}).data),  # no docs event names it
    ]
    for case in cases:
        node.apply([case], now_ms())
    assert len(node.refused) == len(cases)
    assert all(r.count(". ") <= 2 and "\n" not in r for r in node.refused)
    assert not BlobStore(client_store).has(r2) and docs.received == 0


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    base=st.sampled_from([b"", b"\x01" * 8]),
    data=st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=300).map(lambda b: bytes([0x10 | (b[:1] or b"\0")[0] % 4]) + b),
    ),
)
def test_junk_forms_are_refused_never_raised(
    world: World, client_store: Store, tmp_path: Path, base: bytes, data: bytes
) -> None:
    if not BlobStore(client_store).has(hashlib.sha256(R1).hexdigest()):
        _synced(world, client_store, tmp_path)  # once: the examples share the store
        BlobStore(client_store).put(R1, hashlib.sha256(R1).hexdigest())
    docs = InlineDocs(client_store, MEETING)
    node = Node(client_store, MEETING, Role.CLIENT, "d1", inline_limit=4096, inline=docs)
    target = bytes.fromhex(hashlib.sha256(R2).hexdigest()[:16])
    node.apply([InlineDoc(target, base, data)], now_ms())
    assert len(node.refused) == 1 and docs.received == 0


def test_the_inline_limit_follows_the_links_rate() -> None:
    """Half a second of the link: a form ahead of a caption delays it no longer than that."""
    assert inline_budget(None) == INLINE_UNMEASURED
    assert inline_budget(9_600) == 600  # hf
    assert inline_budget(40_000) == 2_500  # edge
    assert inline_budget(256_000) == INLINE_LIMIT  # vsat
    assert inline_budget(1_000) == 512
