"""Versioned schema migrations for the PostgreSQL store: numbered like SQLite's, its own files.

PostgreSQL starts at the schema SQLite reached in its seventh step, so the two
series are numbered apart; the version lives in `meta` (key `schema_version`)
and moves in the same transaction as each step's DDL.
"""
