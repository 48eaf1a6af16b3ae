"""Stores: one writer interface, readers, the outbox; SQLite as the embedded default.

See `interface.py` for the rules every backend keeps and `records.py` for what
they return.
"""
