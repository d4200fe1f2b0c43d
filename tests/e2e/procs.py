"""Re-export of the testbed for the end-to-end tests."""

from lowband.harness.testbed import Relay, cli, stream_state, wait_for

__all__ = ["Relay", "cli", "stream_state", "wait_for"]
