"""The listener's nodes: what each exchange asks for."""

from __future__ import annotations

from conftest import MEETING

from lowband.audio.links import AudioNode
from lowband.storage.store import Store


def test_an_extra_layer_asks_only_for_its_stream_and_claims_only_contiguous_numbers(
    client_store: Store,
) -> None:
    with client_store.tx():
        for no, name in [
            (1, "notice"),
            (2, "roster"),
            (3, "audio/floor/nb6"),
            (6, "transcript/en"),
        ]:
            client_store.ensure_stream(MEETING, name, no)
    extra = AudioNode(client_store, MEETING, "l", "en", {"audio/floor/wb16"}, base=False)
    req = extra.request(live=True)
    assert req.prefixes == ["audio/floor/wb16"] and req.wants == [] and req.subs == []
    assert req.known_streams == 3  # stream 4 (wb16), when it comes, must be announced
    base = AudioNode(client_store, MEETING, "l", "fr", {"audio/floor/nb6"}, base=True)
    req = base.request(live=True)
    assert "transcript/fr" in req.prefixes and "audio/floor/nb6" in req.prefixes
    assert [w.stream for w in req.wants] == ["notice", "roster", "audio/floor/nb6"]
