"""A relay's TOML configuration file: `lowband relay --config relay.toml`.

Owns the file's schema and its validation (unknown settings and wrong types are one clear
sentence naming the file); command-line flags given as well override the file. Example:

    listen = "0.0.0.0:8701"
    parent = "https://origin.example:8700"
    parent_ca = "/etc/lowband/origin-ca.pem"
    name = "nairobi"
    require_auth = true
    allow_relay = ["<child relay public key>"]
    bar = []
    tls_cert = "/etc/lowband/cert.pem"
    tls_key = "/etc/lowband/key.pem"

    [limits]
    per_key_per_min = 30
    per_address_per_min = 120
    custody_per_key = 500
    max_head_bytes = 16384        # a request line and headers; beyond: 431
    head_timeout_s = 10           # a request's head must be in within this; beyond: 408
    connections_per_address = 512 # 0: no cap (behind a proxy that limits for the relay)
    max_connections = 10000       # in all, live followers included; beyond: 503

    [retention]
    audio_hours = 24        # prune audio older than this (0, the default: keep all audio)
    child_hours = 24        # a child's reported cursor holds pruning back this long
    prune_every_s = 600     # how often the relay prunes

    [documents]
    forms_cache_mb = 1024   # encoded document forms kept; the least recently used go first
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec

from lowband.relay.retention import PRUNE_EVERY_S


class LimitsConfig(msgspec.Struct, forbid_unknown_fields=True):
    per_key_per_min: float = 30
    per_address_per_min: float = 120
    custody_per_key: int = 500
    max_head_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 16 * 1024
    head_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    connections_per_address: Annotated[int, msgspec.Meta(ge=0)] = 512
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 10_000


class RetentionConfig(msgspec.Struct, forbid_unknown_fields=True):
    audio_hours: Annotated[float, msgspec.Meta(ge=0)] = 0
    child_hours: Annotated[float, msgspec.Meta(ge=0)] = 24
    prune_every_s: Annotated[float, msgspec.Meta(ge=1)] = PRUNE_EVERY_S


class DocumentsConfig(msgspec.Struct, forbid_unknown_fields=True):
    forms_cache_mb: Annotated[float, msgspec.Meta(ge=0)] = 1024


class RelayConfig(msgspec.Struct, forbid_unknown_fields=True):
    listen: str | None = None
    origin: bool = False
    parent: str | None = None
    parent_ca: str | None = None
    name: str | None = None
    home: str | None = None
    require_auth: bool = False
    allow_relay: list[str] = []
    bar: list[str] = []
    tls_cert: str | None = None
    tls_key: str | None = None
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
    documents: DocumentsConfig = msgspec.field(default_factory=DocumentsConfig)


def load(path: str) -> RelayConfig:
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"Cannot read the configuration {path}: {exc.strerror}.") from None
    try:
        return msgspec.toml.decode(text, type=RelayConfig)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise ValueError(f"The configuration {path} is not valid: {exc}.") from None
