"""Pure read models of the client's screens: what they show, read from the store."""
