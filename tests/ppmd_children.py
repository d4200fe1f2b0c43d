"""PPMd payloads an encoder did not make, decoded in child processes, never in the test process.

A decoder that such a payload leaves waiting for input is held for good (`compress._Quarantine`)
and after `QUARANTINE_MAX` of them a process refuses PPMd payloads altogether; decoding junk in
the test process would make later tests fail. So the inputs go to a child, which decodes them
until its quarantine is full and says how far it got; the next child goes on from there. A child
that dies of a signal is a crash: the caller asserts none did.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter

import msgspec

from lowband.harness.demo import text_lines
from lowband.protocol.compress import _read_varint, pack_body
from lowband.protocol.wire import Codec, varint

LINES = [ln.encode() for ln in text_lines("res167_en.txt")]

_CHILD = """
import json, sys
import msgspec
from lowband.protocol import compress
from lowband.protocol.compress import unpack_batch, unpack_body
from lowband.protocol.wire import ProtocolError
inputs = msgspec.msgpack.decode(sys.stdin.buffer.read())
counts = {"done": 0, "refused": 0, "decoded": 0}
for history, data, codec, batch in inputs:
    if compress._quarantine.full:
        break
    try:
        if batch:
            unpack_batch(codec, data, history, batch)
        else:
            unpack_body(codec, data, history)
        counts["decoded"] += 1
    except ProtocolError:
        counts["refused"] += 1
    counts["done"] += 1
counts["held"] = compress._quarantine.held
print(json.dumps(counts))
"""

Input = tuple[bytes, bytes, int, int]  # history, payload, codec, batch count (0: one body)


def crafted(rng: random.Random) -> Input:
    """What a relay can craft: real encoder output for a caption line, cut, extended, flipped,
    announcing another length."""
    k = rng.randrange(len(LINES))
    history = b"".join(LINES[:k])
    _, packed = pack_body(LINES[k], history)
    size, pos = _read_varint(packed, 0)
    suffix = bytearray(packed[pos:])
    for _ in range(rng.randrange(4)):
        suffix[rng.randrange(len(suffix))] ^= rng.randrange(1, 256)
    suffix = suffix[: rng.randint(0, len(suffix))] + rng.randbytes(rng.randrange(40))
    size = rng.choice([size, size + 1, size + 200, max(0, size - 3)])
    return history, varint(size) + bytes(suffix), Codec.PPMD_HISTORY, 0


def junk(rng: random.Random) -> Input:
    """Random bytes as a PPMd body or batch, against a random or real history."""
    history = rng.choice([rng.randbytes(rng.randrange(600)), b"".join(LINES[:5])])
    data = rng.randbytes(rng.randrange(600))
    return history, data, Codec.PPMD_HISTORY, rng.choice([0, rng.randrange(1, 5000)])


def decode_in_children(inputs: list[Input]) -> Counter[str]:
    """Decode every input in as many children as it takes; counts of what became of them."""
    total: Counter[str] = Counter()
    start = 0
    while start < len(inputs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=msgspec.msgpack.encode(inputs[start:]),
            capture_output=True,
            timeout=300,
        )
        if out.returncode != 0:
            raise AssertionError(
                f"a decoder crashed (exit {out.returncode}): {out.stderr[-800:]!r}"
            )
        counts = json.loads(out.stdout)
        total.update(counts)
        total["children"] += 1
        start += counts["done"]
    return total
