"""What the `hub` command prints for a person: the hub's answers and the store's readings as
lines in the operator's language, columns lined up, times on the venue's clock.

Each `show_*` takes the same data `--json` prints and returns lines; nothing here reads the
store or talks to the hub. `status` (`hub status`), `findings` (`hub findings`), `family`
(`hub sweep`, `hub lookup`, `hub import`).
"""
