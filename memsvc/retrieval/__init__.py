"""The read path's pure logic: fusion, time expressions, contiguity, scoring, iterative rounds.

Every module here works on keys, scores, texts and times handed to it by
:class:`memsvc.service.MemoryService`; none touches storage or a model (an import-linter contract
keeps ``memsvc.store``, FAISS, torch and sentence-transformers out). The service composes them::

    candidates ─► fusion.rrf ─► contiguity.add_neighbours ─► scoring.Scorer ─► iterative rounds
               ─► rerank (optional) ─► context.build_context
"""
