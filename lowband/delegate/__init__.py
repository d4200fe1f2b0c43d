"""What a delegate (or a publisher) does, as library calls the CLI and the TUI share."""
