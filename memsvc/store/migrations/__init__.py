"""Alembic migration scripts, shipped inside the package so an installed wheel can migrate.

Use :mod:`memsvc.store.migrate` (or the ``alembic`` CLI with the repository's ``alembic.ini``).
"""
