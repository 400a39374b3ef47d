"""Adapters that put memsvc under other frameworks' memory interfaces (LangGraph's store)."""
