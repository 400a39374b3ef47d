"""The read path's pure logic: fusion, time expressions, speakers, contiguity, scoring, rounds.

Every module here works on keys, scores, texts and times handed to it by the service layer
(:mod:`memsvc.search.searcher`); none touches storage or a model (an import-linter contract
keeps ``memsvc.store``, FAISS, torch and sentence-transformers out).
:mod:`memsvc.search.searcher` composes them::

    timeparse.parse_time / speakers.name_query ─► candidates ─► fusion.rrf
        ─► iterative.iterative_search (feedback: PRF terms + Rocchio) ─► contiguity.add_neighbours
        ─► scoring.Scorer ─► rerank (optional) ─► context.build_context
"""
