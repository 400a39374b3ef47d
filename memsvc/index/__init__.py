"""Derived, rebuildable search indexes over memories (dense vectors and BM25)."""
