"""The venue's one truth: the gates' events folded in hybrid-clock order, audited, and what was
found.
"""
