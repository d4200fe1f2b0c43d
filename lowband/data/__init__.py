"""Meeting material for the demo and benchmarks: Resolution 167 (Chinese seed text, and an English reading)."""
