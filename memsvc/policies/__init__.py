"""Pure memory policies: what consolidation decides, never how it is stored.

- :mod:`memsvc.policies.decay`: the Ebbinghaus forgetting curve (MemoryBank, ALGORITHMS.md §1).
- :mod:`memsvc.policies.segment`: surprise-based episodes (EM-LLM, ALGORITHMS.md §2.2-2.3).
- :mod:`memsvc.policies.update`: ADD / MERGE / UPDATE / INVALIDATE as a plan of writes (§5).
- :mod:`memsvc.policies.memtree`: MemTree insertion plans and aggregation (ALGORITHMS.md §3).

Every module here depends only on :mod:`memsvc.types`, :mod:`memsvc.errors`,
:mod:`memsvc.config` and the ``base`` protocols; the consolidation pipeline applies the plans.
"""
