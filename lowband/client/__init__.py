"""The Textual terminal client and its screens."""
