"""Caption compression, measured: what each way of sending live lines costs, in one run.

For the English reading and the Chinese text of Resolution 167, replayed as caption lines at
160 words a minute, prints the bytes each scheme needs against the zstd-compressed text:

* zstd -19 over the whole text at once (the floor any live scheme is chasing),
* zstd -19 over each minute's text alone,
* each line alone with zstd -19 (what "compress each event" gives without context),
* each line with the previous 16 KB as a raw zstd dictionary (DESIGN section 4's first idea),
* lowband: each line's body coded with PPMd primed on the stream's history (protocol/compress.py),
* lowband on the wire: the same plus frame headers, HTTP chunk framing and one checkpoint
  per stream every 30 s (the default cadence), per minute.

Pure computation, no network: the live figures through real processes are in
scripts/bench_links.py. Run: `python scripts/bench_captions.py`.
"""

from __future__ import annotations

import zstandard as zstd

from lowband.harness.demo import chinese_lines, text_lines
from lowband.protocol.compress import History, pack_body
from lowband.protocol.model import SIG_BYTES, CaptionLine, Kind
from lowband.protocol.wire import CheckpointFrame, EventFrame, encode_body, encode_frame

WPM = 160
CHECKPOINT_EVERY_S = 30
CHUNK_OVERHEAD = 7  # HTTP/1.1 chunk: hex length, CRLF, CRLF


def z19(data: bytes) -> int:
    return len(zstd.ZstdCompressor(level=19).compress(data))


def zstd_with_history(lines: list[bytes]) -> int:
    history, total = b"", 0
    for raw in lines:
        dictionary = zstd.ZstdCompressionDict(history[-16384:], dict_type=zstd.DICT_TYPE_RAWCONTENT)
        params = zstd.ZstdCompressionParameters.from_level(
            19, format=zstd.FORMAT_ZSTD1_MAGICLESS, write_content_size=0, write_checksum=0
        )
        c = zstd.ZstdCompressor(
            dict_data=dictionary if history else None, compression_params=params
        )
        total += min(len(c.compress(raw)), len(raw))
        history += raw
    return total


def lowband_bytes(captions: list[tuple[str, str]], minutes: float) -> tuple[int, int]:
    """(payload bytes, wire bytes) for the lines, framed as a relay sends them."""
    history = History()
    payload = wire = 0
    for speaker, text in captions:
        body = encode_body(CaptionLine(speaker, text))
        codec, data = pack_body(body, history.bytes())
        history.extend(body)
        payload += len(data)
        wire += len(encode_frame(EventFrame(5, 4000, Kind.CAPTION, codec, data))) + CHUNK_OVERHEAD
    checkpoint = len(encode_frame(CheckpointFrame(5, 300, 10**7, bytes(SIG_BYTES))))
    wire += int(minutes * 60 / CHECKPOINT_EVERY_S) * (checkpoint + CHUNK_OVERHEAD)
    return payload, wire


def minutes_of(texts: list[str], lang: str) -> float:
    words = sum(len(t.split()) for t in texts) if lang == "en" else sum(len(t) for t in texts) / 1.5
    return words / WPM


def per_minute_chunks(texts: list[str], minutes: float) -> int:
    raw = "\n".join(texts).encode()
    step = max(1, int(len(raw) / max(minutes, 1e-9)))
    return sum(z19(raw[i : i + step]) for i in range(0, len(raw), step))


def main() -> None:
    corpora = {
        "en": [tuple(ln.split(": ", 1)) for ln in text_lines("res167_en.txt")],
        "zh": [("SECRETARIAT", ln) for ln in chinese_lines()],
    }
    print(f"{'':34}{'en':>12}{'zh':>12}")
    rows: dict[str, list[str]] = {}
    for lang, caps in corpora.items():
        texts = [t for _, t in caps]
        lines = [t.encode() for t in texts]
        minutes = minutes_of(texts, lang)
        whole = z19(b"\n".join(lines))
        chunked = per_minute_chunks(texts, minutes)
        payload, wire = lowband_bytes(caps, minutes)  # type: ignore[arg-type]
        figures = {
            "lines / minutes of speech": f"{len(lines)} / {minutes:.1f}",
            "text bytes": str(sum(map(len, lines))),
            "zstd -19, whole text at once": str(whole),
            "zstd -19, each minute alone": str(chunked),
            "zstd -19, each line alone": str(sum(z19(x) for x in lines)),
            "zstd -19, line + 16 KB history dict": str(zstd_with_history(lines)),
            "lowband PPMd, line + history": str(payload),
            "  ratio to whole text": f"{payload / whole:.2f}",
            "lowband wire bytes a minute": f"{wire / minutes:.0f}",
            "  ratio to whole text at once": f"{wire / whole:.2f}",
            "  ratio to each minute alone": f"{wire / chunked:.2f}",
            "  bit/s": f"{wire * 8 / minutes / 60:.0f}",
        }
        for k, v in figures.items():
            rows.setdefault(k, []).append(v)
    for k, vs in rows.items():
        print(f"{k:34}" + "".join(f"{v:>12}" for v in vs))


if __name__ == "__main__":
    main()
