"""What head office keeps: one SQLite file per venue (`hq.store.venue`)."""
