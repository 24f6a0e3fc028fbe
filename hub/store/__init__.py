"""The hub's event store: every gate's journal entries, each stored exactly once (SQLite WAL)."""
