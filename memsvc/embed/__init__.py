"""Embedders: text to L2-normalised float32 vectors (see :mod:`memsvc.embed.base`)."""
