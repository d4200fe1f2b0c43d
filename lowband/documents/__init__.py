"""Documents: the docs stream's index, publishing, fetching with sender-side deltas,
Office normalisation, diffs."""
