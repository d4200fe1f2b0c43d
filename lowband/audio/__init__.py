"""Audio: Opus simulcast layers, bundling, jitter buffer and playback."""
