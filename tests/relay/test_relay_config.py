"""The relay's TOML configuration: validated, merged under the command line, and runnable."""

from __future__ import annotations

from pathlib import Path

import pytest

from lowband.cli import build_parser
from lowband.cli.admin import relay_settings
from lowband.harness.testbed import Relay


def args_for(tmp: Path, toml: str, *flags: str):  # type: ignore[no-untyped-def]
    conf = tmp / "relay.toml"
    conf.write_text(toml)
    return build_parser().parse_args(["relay", "--config", str(conf), *flags])


def test_flags_override_the_file(tmp_path: Path) -> None:
    key = "ab" * 32
    args = relay_settings(
        args_for(
            tmp_path,
            f'''
listen = "127.0.0.1:8701"
parent = "http://127.0.0.1:8700"
name = "nairobi"
require_auth = true
bar = ["{key}"]
[limits]
per_key_per_min = 12
''',
            "--name",
            "mombasa",
        )
    )
    assert (args.listen, args.parent, args.name) == (
        "127.0.0.1:8701",
        "http://127.0.0.1:8700",
        "mombasa",
    )
    assert args.require_auth and args.bar == [key] and args.limits.per_key_per_min == 12


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('listen = "127.0.0.1:1"\nparnet = "x"\norigin = true', "not valid"),
        ("listen = 8701\norigin = true", "not valid"),
        ("origin = true", "Say where to listen"),
        ('listen = "127.0.0.1:1"', "either the origin"),
    ],
)
def test_bad_files_are_one_sentence(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        relay_settings(args_for(tmp_path, toml))


def test_a_relay_runs_from_its_file(tmp_path: Path) -> None:
    conf = tmp_path / "origin.toml"
    conf.write_text('listen = "127.0.0.1:0"\norigin = true\nname = "geneva"\n')
    relay = Relay(tmp_path / "home", "--config", str(conf), name="geneva")
    try:
        assert relay.url.startswith("http://127.0.0.1:")
    finally:
        relay.stop()
