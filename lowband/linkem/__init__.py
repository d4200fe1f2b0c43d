"""lowband.linkem: a user-space link emulator (a TCP proxy) for tests and benchmarks.

Owns reproducible bad links on loopback: the profiles of DESIGN section 10,
pure shaping arithmetic, the asyncio proxy and its command. Must not be
imported by the protocol core (lowband.sync, lowband.relay): it is a test
and benchmark tool only.
"""

from lowband.linkem.profiles import (
    PROFILES,
    UNLIMITED,
    LinkProfile,
    OutageKind,
    OutageSchedule,
    UnknownProfileError,
    get_profile,
)
from lowband.linkem.proxy import LinkEmulator
from lowband.linkem.threaded import LinkEmulatorThread

__all__ = [
    "PROFILES",
    "UNLIMITED",
    "LinkEmulator",
    "LinkEmulatorThread",
    "LinkProfile",
    "OutageKind",
    "OutageSchedule",
    "UnknownProfileError",
    "get_profile",
]
