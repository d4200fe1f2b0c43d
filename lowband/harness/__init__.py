"""Real processes on loopback for the demo, the benchmarks and the end-to-end tests."""
