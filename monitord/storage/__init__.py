"""Stores: one writer interface, readers, the outbox; SQLite as the embedded default.

See `interface.py` for the rules every backend keeps and `records.py` for what
they return. The rules themselves are written once, in SQL both backends
accept (`writer.py`, `readers.py`, and the table modules beside them); each
backend (`sqlite/`, `postgresql/`) only connects, locks, migrates and runs
them in its transactions.
"""
