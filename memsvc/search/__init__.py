"""The read path: plan a search, gather candidates from the indexes, score and fuse them.

:mod:`memsvc.retrieval` holds the pure logic it uses; this package does the I/O.
"""
