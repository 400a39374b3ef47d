"""The reader: a causal LM that answers from memories it reads inside its attention.

Memories (facts, events, summaries, any texts) are encoded once into a :class:`MemoryBank` of
per-layer key/value tensors, keys kept before the rotary embedding (Extended Mind). A
:class:`Reader` then answers a question in one of five modes (``ReaderSettings.mode``):

- ``kv``: the chosen memories' precomputed keys/values are placed in the cache where the prompt
  would have put them, rotated to those positions: no prefill of memory tokens (Memory^3's
  explicit memory). The default: the calibration in issue 16 measured it as the promising path.
- ``attention``: every (or a configured subset of) attention layer retrieves the top-k memory
  keys per query head and position by cosine similarity and attends to them together with the
  local context in one softmax (Extended Mind Transformers, ALGORITHMS.md §6.2).
- ``inject``: the memories' summed token embeddings are added to one layer's attention output
  (Memory Injections, §6.3).
- ``prompt``: the memories' tokens are prefilled as ordinary prompt text (the baseline).
- ``none``: the question alone.

Every mode but ``none`` reports citations: how much attention each memory received.

This package imports only :mod:`memsvc.types` and :mod:`memsvc.errors` from memsvc (plus torch
and transformers): the model comes in as an object, the memories as texts; the service layer
(:mod:`memsvc.answering`) loads the model and retrieves.
"""

from __future__ import annotations

from memsvc.reader.bank import MemoryBank
from memsvc.reader.reader import Citation, Reader, ReaderSettings, ReadResult

__all__ = ["Citation", "MemoryBank", "ReadResult", "Reader", "ReaderSettings"]
