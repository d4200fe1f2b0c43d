"""The terminal client: a Textual app for delegates and the chair, offline first.

`make_app` builds it; `lowband` (no arguments), `lowband tui` and `lowband chair`
run it. The UI reads only its own store; `syncer.py` does all network and
disk writing in a background thread.
"""

from __future__ import annotations

from lowband.client.app import ClientConfig, LowbandApp, make_app

__all__ = ["ClientConfig", "LowbandApp", "make_app"]
