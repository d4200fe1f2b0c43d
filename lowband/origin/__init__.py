"""The origin: the only node that sequences, decides and signs."""
