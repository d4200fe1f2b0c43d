"""The meeting's own content: the speaking queue, caption input formats, events as
plain lines. Pure."""
