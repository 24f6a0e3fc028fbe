"""The hub's web side: the live display, the JSON API and its event stream."""
