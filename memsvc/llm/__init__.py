"""The language tasks of memsvc behind one protocol (see :mod:`memsvc.llm.base`)."""
