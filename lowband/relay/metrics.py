"""What a relay counts: live followers, bytes served by stream class and of document files (the
blob endpoint's encoded forms), submissions by outcome, history blocks served, and the time
clients report in each mode. Exposed live at `/metrics` for Prometheus (prometheus-client) and kept
in the store (meta `stats/served`) so `lowband stats` can report them after a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from lowband.protocol.wire import MODE_NAMES
from lowband.storage import meta
from lowband.storage.store import Store

DOCUMENT_FILES = "document files"  # bytes served by the blob endpoint, beside the stream classes


def stream_class(name: str) -> str:
    """transcript, audio, docs, chat, interventions, or control (notice, roster, floor, ...)."""
    head = name.split("/", 1)[0]
    return head if head in ("transcript", "audio", "docs", "chat", "interventions") else "control"


class Metrics:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        self.followers = Gauge(
            "lowband_live_followers", "Live exchanges open", ["meeting"], registry=self.registry
        )
        self.exchanges = Counter(
            "lowband_exchanges", "Sync exchanges served", ["live"], registry=self.registry
        )
        self.bytes = Counter(
            "lowband_bytes_served",
            "Event bytes served to followers",
            ["stream_class"],
            registry=self.registry,
        )
        self.submissions = Counter(
            "lowband_submissions",
            "Submissions answered, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.history = Counter(
            "lowband_history_bytes", "Closed-history bytes served by URL", registry=self.registry
        )
        self.documents = Counter(
            "lowband_document_bytes_served",
            "Document bytes served by the blob endpoint (encoded forms, resumed parts included)",
            registry=self.registry,
        )
        self.modes = Counter(
            "lowband_mode_seconds",
            "Seconds clients reported in each mode",
            ["mode"],
            registry=self.registry,
        )
        self.totals = meta.served_totals(store)
        self._mode_time: dict[tuple[str, str, str, str], int] = {}  # not saved yet

    def mode_time(self, meeting: str, member: str, seconds: list[int], now_ms: int) -> None:
        """A client's report of seconds in each mode, summed per member and (UTC) day."""
        day = datetime.fromtimestamp(now_ms / 1000, UTC).date().isoformat()
        for name, s in zip(MODE_NAMES, seconds, strict=False):
            if s:
                self.modes.labels(name).inc(s)
                key = (meeting, member, day, name)
                self._mode_time[key] = self._mode_time.get(key, 0) + s

    def served(self, sent_by: dict[str, int]) -> None:
        for name, n in sent_by.items():
            cls = stream_class(name)
            self.bytes.labels(cls).inc(n)
            self._add(f"bytes/{cls}", n)

    def document_served(self, n: int) -> None:
        self.documents.inc(n)
        self._add(f"bytes/{DOCUMENT_FILES}", n)

    def answered(self, outcome: str) -> None:
        self.submissions.labels(outcome).inc()
        self._add(f"submissions/{outcome}", 1)

    def history_served(self, n: int) -> None:
        self.history.inc(n)
        self._add("history/bytes", n)
        self._add("history/blocks", 1)

    def _add(self, key: str, n: int) -> None:
        self.totals[key] = self.totals.get(key, 0) + n

    def save(self) -> None:
        """Keep the running totals in the store (called now and then, and at shutdown)."""
        with self.store.tx(durable=False):
            meta.set_served_totals(self.store, self.totals)
            self.store.db.conn.executemany(
                "INSERT INTO mode_time VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
                " SET seconds = seconds + excluded.seconds",
                [(*key, s) for key, s in self._mode_time.items()],
            )
        self._mode_time.clear()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
