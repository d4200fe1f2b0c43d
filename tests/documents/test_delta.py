"""Document deltas (lowband.documents.delta.delta): round trips, strict decoding, bounds and base choice."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lowband.documents.delta.copyinsert import anchors, apply_ops, find_ops, pack_ops
from lowband.documents.delta.delta import (
    Delta,
    DeltaError,
    Method,
    _header,
    _zstd,
    decode_delta,
    encode_delta,
    read_header,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = "delegate remote meeting resolution chair session draft agenda item member state".split()


def prose(rng: random.Random, size: int) -> bytes:
    """Text with paragraphs, like the documents a meeting circulates."""
    out: list[str] = []
    length = 0
    while length < size:
        out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))) + ".\n")
        length += len(out[-1])
    return "".join(out).encode()[:size]


def edit(rng: random.Random, data: bytes, edits: int) -> bytes:
    for _ in range(edits):
        at = rng.randrange(len(data) + 1)
        data = data[:at] + prose(rng, rng.randint(1, 60)) + data[at + rng.randint(0, 40) :]
    return data


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@st.composite
def revision_and_bases(draw: st.DrawFn) -> tuple[bytes, dict[str, bytes]]:
    """A new revision and held bases: some unrelated, some edited copies of it."""
    new = draw(st.binary(max_size=3000) | st.builds(prose, st.randoms(), st.integers(0, 3000)))
    bases: dict[str, bytes] = {}
    for i in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            bases[f"r{i}"] = draw(st.binary(max_size=2000))
        else:
            bases[f"r{i}"] = edit(draw(st.randoms()), new, draw(st.integers(0, 4)))
    return new, bases


@FAST
@given(revision_and_bases())
def test_round_trip(case: tuple[bytes, dict[str, bytes]]) -> None:
    new, bases = case
    delta = encode_delta(new, bases)
    assert read_header(delta.data)[:2] == (delta.method, delta.base_id)
    assert decode_delta(delta.data, bases, max_size=len(new), expected_sha256=sha(new)) == new
    assert len(delta.data) <= len(new) + 1  # never worse than stored
    if len(new) >= 1:
        with pytest.raises(DeltaError):
            decode_delta(delta.data, bases, max_size=len(new) - 1)


def test_a_hex_base_id_travels_in_binary() -> None:
    rng = random.Random(5)
    old = prose(rng, 4000)
    new = edit(rng, old, 2)
    delta = encode_delta(new, {"00c0ffee12345678": old})
    assert delta.data[1:10] == bytes([0x88]) + bytes.fromhex("00c0ffee12345678")
    assert read_header(delta.data) == (delta.method, "00c0ffee12345678", 10)
    assert decode_delta(delta.data, {"00c0ffee12345678": old}, max_size=len(new)) == new
    for cut in (delta.data[:1] + b"\x88", delta.data[:9]):
        with pytest.raises(DeltaError, match="cut short"):
            read_header(bytes([0x12]) + cut[1:])


@FAST
@given(revision_and_bases(), st.data())
def test_damaged_deltas_raise_only_delta_error(
    case: tuple[bytes, dict[str, bytes]], data: st.DataObject
) -> None:
    new, bases = case
    wire = encode_delta(new, bases).data
    cut = data.draw(st.integers(0, len(wire)))
    flip = data.draw(st.integers(0, max(0, len(wire) - 1)))
    damaged = [
        wire[:cut],
        wire[:flip] + bytes([wire[flip] ^ data.draw(st.integers(1, 255))]) + wire[flip + 1 :],
        wire + data.draw(st.binary(min_size=1, max_size=8)),
    ]
    for bad in damaged:
        try:
            out = decode_delta(bad, bases, max_size=len(new), expected_sha256=sha(new))
        except DeltaError:
            continue
        assert out == new


@FAST
@given(st.binary(max_size=64), st.dictionaries(st.text(max_size=4), st.binary(max_size=64)))
def test_arbitrary_input_raises_only_delta_error(junk: bytes, bases: dict[str, bytes]) -> None:
    try:
        decode_delta(junk, bases, max_size=100)
    except DeltaError:
        pass


@FAST
@given(st.binary(max_size=300), st.binary(min_size=1, max_size=300))
def test_malformed_op_streams_raise_only_delta_error(stream: bytes, base: bytes) -> None:
    wire = bytes([0x10 | Method.COPY, 1]) + b"b" + _zstd(stream, 3)
    try:
        out = decode_delta(wire, {"b": base}, max_size=500)
    except DeltaError:
        return
    assert len(out) <= 500


def test_size_bound_is_checked_before_decompressing() -> None:
    bomb = encode_delta(b"\0" * 5_000_000, {})
    assert len(bomb.data) < 1000
    with pytest.raises(DeltaError, match="more bytes than allowed"):
        decode_delta(bomb.data, {}, max_size=1_000_000)


def test_missing_base_and_wrong_hash_are_plain_errors() -> None:
    rng = random.Random(1)
    base = prose(rng, 5000)
    delta = encode_delta(edit(rng, base, 1), {"v1": base})
    with pytest.raises(DeltaError, match="needs base 'v1'"):
        decode_delta(delta.data, {}, max_size=10_000)
    with pytest.raises(DeltaError, match="SHA-256"):
        decode_delta(delta.data, {"v1": base}, max_size=10_000, expected_sha256=sha(b"other"))


@pytest.mark.parametrize("held", [3, 6])  # 6 > MAX_TRIALS: ranked by resemblance first
def test_picks_the_most_similar_base(held: int) -> None:
    rng = random.Random(held)
    new = prose(rng, 20_000)
    bases = {f"unrelated{i}": prose(rng, 20_000) for i in range(held - 2)}
    bases["heavy"] = edit(rng, new, 60)
    bases["light"] = edit(rng, new, 2)
    delta = encode_delta(new, bases)
    assert delta.base_id == "light"
    worst = encode_delta(new, {"heavy": bases["heavy"]})
    assert len(delta.data) * 3 < len(worst.data)


def test_copy_insert_wins_for_a_tiny_edit_in_a_large_file() -> None:
    rng = random.Random(7)
    base = prose(rng, 2_000_000)
    new = base[:1_000_000] + b"Kenya " + base[1_000_000:]
    delta = encode_delta(new, {"prev": base})
    assert delta.method is Method.COPY
    assert len(delta.data) < 64
    assert decode_delta(delta.data, {"prev": base}, max_size=len(new)) == new


def test_whole_file_when_no_base_helps() -> None:
    rng = random.Random(3)
    new = prose(rng, 10_000)
    delta = encode_delta(new, {"noise": random.Random(4).randbytes(10_000)})
    assert delta.method is Method.ZSTD and delta.base_id is None
    assert isinstance(delta, Delta) and dict(delta.tried)["zstd"] == len(delta.data)


@FAST
@given(st.binary(max_size=400), st.binary(max_size=400))
def test_copy_insert_ops_cover_new_exactly(new: bytes, base: bytes) -> None:
    ops = find_ops(new, base, anchors(new))
    assert sum(i + c for i, _, c in ops) == len(new)
    assert apply_ops(pack_ops(new, ops), base, len(new)) == new


@pytest.mark.parametrize("method", [Method.ZSTD, Method.COPY])
def test_a_decompression_bomb_stops_at_the_size_bound(method: Method) -> None:
    """A form of a few kilobytes that would inflate to 256 MiB (a zstd frame that does not say
    its size) is refused at the revision's size, without inflating it."""
    import zstandard

    squeeze = zstandard.ZstdCompressor(level=1).compressobj()
    zeros = b"\0" * (1 << 20)
    payload = b"".join(squeeze.compress(zeros) for _ in range(256)) + squeeze.flush()
    assert len(payload) < 64 * 1024
    bases = {"00c0ffee12345678": b"base"} if method is Method.COPY else {}
    bid = "00c0ffee12345678" if method is Method.COPY else None
    with pytest.raises(DeltaError):
        decode_delta(_header(method, bid) + payload, bases, max_size=4096)
