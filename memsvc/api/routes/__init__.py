"""Route modules, one per area: memories, search, admin, health."""
