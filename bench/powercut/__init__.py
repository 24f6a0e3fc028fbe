"""The power-cut campaign: gates and the hub on a filesystem that loses what was not synced."""
