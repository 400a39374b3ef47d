"""Consolidation: events -> episodes -> facts -> MemTree and summaries, in a background worker."""
