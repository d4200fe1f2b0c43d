"""lowband: remote participation in meetings over slow, unstable, metered links."""
