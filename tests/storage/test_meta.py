"""The meta table behind typed accessors: each value round-trips, absent values read as such."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from lowband.storage import meta
from lowband.storage.store import Store


def test_settings_and_counters_round_trip_and_start_empty(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite") as store:
        day = date(2026, 12, 2)
        assert meta.alert(store, "pp26") == "" and meta.relay_ca(store, "pp26") is None
        assert meta.link_record(store, "pp26") is None and meta.daily_budget(store) is None
        assert meta.used_on(store, day) == 0 and meta.served_totals(store) == {}
        with store.tx():
            meta.set_alert(store, "pp26", "An event was altered.")
            meta.set_relay_ca(store, "pp26", "/etc/ca.pem")
            meta.set_link_record(store, "pp26", meta.LinkRecord(True, "", 5.0, "nairobi", 0.5))
            meta.add_used(store, 700, day)
            meta.add_used(store, 300, day)
            meta.set_daily_budget(store, 20_000_000)
            meta.set_served_totals(store, {"captions": 12})
        assert meta.alert(store, "pp26") == "An event was altered."
        assert meta.relay_ca(store, "pp26") == "/etc/ca.pem"
        assert meta.link_record(store, "pp26") == meta.LinkRecord(True, "", 5.0, "nairobi", 0.5)
        assert meta.used_on(store, day) == 1000 and meta.used_on(store, date(2026, 12, 3)) == 0
        assert meta.daily_budget(store) == 20_000_000 and meta.served_totals(store) == {
            "captions": 12
        }
        with store.tx():
            meta.set_daily_budget(store, None)
        assert meta.daily_budget(store) is None


def test_a_link_record_in_an_unknown_shape_reads_as_none(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite") as store:
        store.set_meta("link/pp26", '{"online": "maybe"}')
        assert meta.link_record(store, "pp26") is None
