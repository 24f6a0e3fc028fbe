"""The technician's tools: `gatectl` for a running gate, `gate simulate` for a dry run through the
rules.
"""
