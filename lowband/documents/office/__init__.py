"""Office files (zips of deflated XML) in a normal form whose revisions delta well."""
