"""The relay: a Starlette app serving the sync exchange, the origin role, and upstream mirroring."""
