"""Byte deltas between document revisions: the codec, copy/insert ops, base ranking."""
