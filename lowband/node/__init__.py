"""A node: its home (key and store), its side of an exchange over its store, and the
uplink that keeps it in sync with its parent."""
