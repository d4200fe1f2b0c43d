"""Tests of the terminal client (a package, so its conftest does not shadow tests/conftest.py)."""
