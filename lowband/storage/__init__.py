"""Storage: the only package that speaks SQL, over one SQLite file per node, and the
blob files beside it."""
