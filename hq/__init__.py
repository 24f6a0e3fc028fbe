"""The chain's head office: every venue's entries and summaries, from the chain's JetStream
stream, kept per venue and shown across the chain (`hq run`)."""
