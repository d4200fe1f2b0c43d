"""Fuzzing every decoder and the relay's endpoints with hypothesis: junk gets a clear error.

The number of examples per target comes from LOWBAND_FUZZ_EXAMPLES (default 150, fast enough
for every run); `LOWBAND_FUZZ_EXAMPLES=5000 pytest tests/protocol/test_fuzz.py -s` is the long run, and
each target prints how many inputs it tried.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from conftest import MEETING, World
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ppmd_children import LINES, decode_in_children, junk
from ppmd_children import crafted as crafted_input

from lowband.meeting import captions
from lowband.protocol.compress import History, unpack_batch, unpack_body
from lowband.protocol.crypto import chain_genesis
from lowband.protocol.receiver import InlineDoc, Receiver, StreamState
from lowband.protocol.wire import (
    Codec,
    FrameReader,
    ProtocolError,
    SyncRequest,
    Want,
    decode_request,
    encode_request,
    varint,
)
from lowband.relay.app import Settings, create_app

EXAMPLES = int(os.environ.get("LOWBAND_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
tried: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print("\nfuzz inputs tried (zero crashes): " + ", ".join(f"{k} {v}" for k, v in tried.items()))


@FUZZ
@given(st.binary(max_size=2000))
def test_frames(data: bytes) -> None:
    tried["frames"] += 1
    try:
        list(FrameReader().feed(data))
    except ProtocolError:
        pass


@FUZZ
@given(
    st.sampled_from(["docs", "notice"]),
    st.lists(
        st.one_of(
            st.binary(min_size=7, max_size=9),
            st.binary(max_size=2000),
            st.integers(-(1 << 63), (1 << 64) - 1),
            st.none(),
        ),
        max_size=4,
    ),
)
def test_doc_forms(stream: str, fields: list[object]) -> None:
    tried["doc forms"] += 1
    payload = msgspec.msgpack.encode([11, *fields])
    state = StreamState(1, stream, 0, chain_genesis(MEETING, stream), 0, History())
    receiver = Receiver(MEETING, bytes(32), 0, [state])
    try:
        for frame in FrameReader().feed(varint(len(payload)) + payload):
            (effect,) = receiver.on_frame(frame)
            assert isinstance(effect, InlineDoc) and stream == "docs"
            assert len(effect.target) == 8 and len(effect.base) in (0, 8)
    except ProtocolError:
        pass


@FUZZ
@given(st.one_of(st.binary(max_size=2000), st.binary(max_size=2000).map(lambda b: b"\x01" + b)))
def test_requests(data: bytes) -> None:
    tried["requests"] += 1
    try:
        decode_request(data)
    except ProtocolError:
        pass


@FUZZ
@given(
    st.sampled_from([Codec.RAW, 9]),  # PPMd: test_crafted_and_junk_ppmd_payloads, in children
    st.binary(max_size=600),
    st.binary(max_size=600),
    st.integers(0, 5000),
)
def test_payloads(codec: int, data: bytes, history: bytes, count: int) -> None:
    tried["payloads"] += 1
    for decode in (
        lambda: unpack_body(codec, data, history),
        lambda: unpack_batch(codec, data, history, count),
    ):
        try:
            decode()
        except ProtocolError:
            pass


def payload(size: int, suffix: bytes) -> bytes:
    """A PPMd payload announcing `size` bytes."""
    return varint(size) + suffix


# Found by mutating the encoder's output for LINES[k] against the first k lines (with the 4-byte
# check of codec 1 recomputed, as a relay could): (k, announced size, suffix). Each makes pyppmd's
# decoder run out of input, and its thread waits for more; freeing the decoder woke it to read
# past the input and write into the freed output buffer. That is a use after free, so one decode
# does not always abort; decoded 10 times each, they aborted 30 runs out of 30 ("corrupted size
# vs. prev_size", SIGSEGV). Now such a decoder is never freed (compress._Quarantine).
CRASHERS = [
    (25, 202, "3c880b4e54b66c02431c97a6a073330000"),
    (8, 215, "5ac5d96cc4be75b1af508d56"),
    (17, 211, "9f9c7a38934df63da63ae13338258c54a661db237b14faec6bae0edf00"),
]
ROUNDS = 10


def test_payloads_that_crashed_the_decoder_are_refused() -> None:
    payloads = [(b"".join(LINES[:k]), payload(n, bytes.fromhex(h))) for k, n, h in CRASHERS]
    code = f"""
from lowband.protocol.compress import unpack_body
from lowband.protocol.wire import Codec, ProtocolError
for _ in range({ROUNDS}):
    for history, data in {payloads!r}:
        try:
            unpack_body(Codec.PPMD_HISTORY, data, history)
        except ProtocolError as exc:
            print("refused:", exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.count("refused: ") == ROUNDS * len(CRASHERS), out.stdout


def test_crafted_and_junk_ppmd_payloads() -> None:
    rng = random.Random(EXAMPLES)
    inputs = [crafted_input(rng) for _ in range(EXAMPLES)] + [junk(rng) for _ in range(EXAMPLES)]
    counts = decode_in_children(inputs)
    assert counts["done"] == len(inputs)
    tried["crafted and junk PPMd payloads"] += len(inputs)


CUE_LINE = st.sampled_from(
    [
        "WEBVTT",
        "",
        "00:00:01.000 --> 00:00:02.000",
        "1",
        "00:01,5 --> x",
        "KENYA: hello",
        ">> CHAIR: order",
        "<b>x</b>",
    ]
)


@FUZZ
@given(st.lists(st.one_of(CUE_LINE, st.text(max_size=80)), max_size=40))
def test_caption_files(lines: list[str]) -> None:
    tried["caption files"] += 1
    try:
        for cue in captions.parse("\n".join(lines)):
            assert cue.text
    except captions.CaptionFormatError:
        pass


@pytest.fixture
def relay_client(world: World, tmp_path: Path) -> Iterator[httpx.AsyncClient]:
    app = create_app(world.origin_store, Settings(name="origin", origin_key=world.origin_key))
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay")


WANTS = st.lists(
    st.builds(
        Want,
        st.sampled_from(["notice", "roster", "floor", "x", ""]),
        st.integers(0, 2**40),
        st.integers(0, 2**40),
    ),
    max_size=5,
)
REQUESTS = st.builds(
    SyncRequest,
    st.sampled_from([MEETING, "nosuch"]),
    st.text(max_size=10),
    WANTS,
    st.lists(st.sampled_from(["", "chat/", "audio/"]), max_size=3),
    st.integers(0, 50),
    docs_held=st.lists(st.binary(min_size=7, max_size=9), max_size=4),
    inline_limit=st.integers(0, 1 << 17),
)


@FUZZ
@given(
    data=st.one_of(REQUESTS.map(encode_request), st.binary(max_size=300)),
    path=st.sampled_from(
        [
            "/v1/sync",
            "/v1/meetings",
            f"/v1/meetings/{MEETING}",
            "/v1/meetings/%00",
            f"/v1/history/{MEETING}/1/0",
            f"/v1/history/{MEETING}/99/-1",
        ]
    ),
)
async def test_endpoints(relay_client: httpx.AsyncClient, data: bytes, path: str) -> None:
    tried["endpoint requests"] += 1
    if path == "/v1/sync":
        resp = await relay_client.post(path, content=data)
    else:
        resp = await relay_client.get(path)
    assert resp.status_code in (200, 400, 404, 413), resp.text
    if resp.status_code == 200 and path == "/v1/sync":
        list(FrameReader().feed(resp.content))  # a whole, well-formed response
    elif resp.status_code != 200:
        assert resp.text.endswith(".") and "\n" not in resp.text.strip()


def test_request_strategy_reaches_the_relay() -> None:
    assert msgspec.msgpack.decode(encode_request(SyncRequest(MEETING, "d", []))[1:]) is not None
