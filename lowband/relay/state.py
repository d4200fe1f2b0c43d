"""A relay's state: its settings and what its endpoints and background tasks share.

Owns `Settings` (what `lowband relay` and its TOML file configure), `RelayState` (the store,
the hub, the uplinks to the parent, the audio followed, the origin role when this node is the
origin), and the one admission check every request that serves meeting content passes.
Must not: serve or schedule anything (`relay/endpoints.py`, `relay/tasks.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from lowband import http
from lowband.node.uplink import Uplink
from lowband.origin.origin import Origin
from lowband.protocol.crypto import check_auth
from lowband.protocol.wire import Auth, ProtocolError, decode_blob_auth
from lowband.relay.fanout import Fanout
from lowband.relay.hub import Hub
from lowband.relay.limits import Limits
from lowband.relay.metrics import Metrics
from lowband.relay.retention import Cursors, Retention
from lowband.relay.source import Views
from lowband.storage.store import Store


@dataclass
class Settings:
    name: str
    origin_key: SigningKey | None = None  # set on the origin
    parent: str | None = None  # set on a relay
    transport: http.Transport | None = None  # tests swap the parent's transport
    key: SigningKey | None = None  # a relay's own key: signs its requests to its parent
    require_auth: bool = False  # serve only requests signed by roster keys or child relays
    limits: Limits = field(default_factory=Limits)
    parent_ca: str | None = None  # CA bundle (or pinned certificate) for an https parent
    retention: Retention = field(default_factory=Retention)  # how long audio is kept
    forms_cache_bytes: int = 1 << 30  # encoded document forms kept, least recently used dropped


@dataclass
class RelayState:
    store: Store
    settings: Settings
    hub: Hub = field(default_factory=Hub)
    uplinks: dict[str, Uplink] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    audio_interest: dict[str, Counter[str]] = field(default_factory=dict)
    origin: Origin | None = None

    def __post_init__(self) -> None:
        self.views = Views(self.store)
        self.fanout = Fanout(self.hub, self.views)
        self.metrics = Metrics(self.store)
        self.cursors = Cursors(self.store)
        if self.settings.origin_key is not None:
            self.origin = Origin(self.store, self.settings.origin_key, self.settings.name)

    def admit(self, meeting: str, node: str, auth: Auth | None, first_contact: bool = False) -> str:
        """'' when a request (sync or blob) with this token may be served, else why not. A
        relay that requires tokens takes only those for itself (their audience is its name),
        so that one relay cannot replay a token to another; `first_contact` (the meeting
        directory, where a node learns the name) also takes a token that names no relay."""
        if auth is None:
            if self.settings.require_auth:
                return (
                    "This relay serves only signed requests; run `lowband id init` and join again."
                )
            return ""
        why = check_auth(meeting, node, auth, now_ms())
        if why:
            return why
        name = self.settings.name
        if self.settings.require_auth and auth.audience != name:
            if auth.audience or not first_contact:
                return f"The request's token is for {auth.audience or 'no relay'}, not {name}."
        on_roster = self.store.roster_entry(meeting, auth.key) is not None
        return self.settings.limits.admit(auth.key, on_roster or not self.settings.require_auth)

    def admit_header(
        self, header: str | None, what: str, first_contact: bool = False
    ) -> tuple[int, str, str | None]:
        """(status, refusal, meeting) of a plain GET that carries its token in `x-lowband-auth`:
        status 0 when it may be served, with the meeting the token names (None without a
        token, on a relay that serves anyone). `what` names what is refused, in its sentence."""
        if header is None:
            if self.settings.require_auth:
                return 401, f"This relay serves {what} only to signed requests.", None
            return 0, "", None
        try:
            token = decode_blob_auth(header)
        except ProtocolError as exc:
            return 400, str(exc), None
        why = self.admit(token.meeting, token.node, token.auth, first_contact)
        return (403, why, token.meeting) if why else (0, "", token.meeting)


def now_ms() -> int:
    return int(time.time() * 1000)
