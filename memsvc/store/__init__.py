"""SQL storage: the source of truth (SQLAlchemy 2.0; SQLite by default, PostgreSQL at scale)."""
