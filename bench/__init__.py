"""`make bench`: side-by-side load measurements of the content API and its baselines."""
