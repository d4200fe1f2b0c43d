"""The app's screens, one a file with its stylesheet beside it."""
