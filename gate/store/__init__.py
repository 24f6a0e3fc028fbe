"""The gate's stores: the journal (its only outbox), the allowlist, what it learned from other
gates.
"""
