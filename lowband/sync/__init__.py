"""Sans-IO sync protocol: client state, serving plans, the ladder, deltas. No I/O imports."""
