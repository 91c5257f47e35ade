"""The UGC service: ratings, reviews with votes, and bookmarks (ugc.v1)."""
