"""The degradation ladder: link estimate, modes, time in each mode, the data budget.
Pure; no audio, no I/O."""
