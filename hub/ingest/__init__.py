"""What comes into the hub: every gate's journal batches and statuses, and the ticket office's
imports.
"""
