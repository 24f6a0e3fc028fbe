"""The allowlist's exceptions: one base class, caught at the boundary (CLI, daemon)."""

from __future__ import annotations

from pathlib import Path

_SHOWN = 20  # problems spelled out in a message; `problems` keeps them all


class AllowlistError(ValueError):
    """Allowlist data that cannot be used: a CSV directory, a snapshot or a delta.

    `problems` lists every problem found, one line each; the message shows the first few.
    """

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        shown = self.problems[:_SHOWN]
        if len(self.problems) > _SHOWN:
            shown.append(f"... and {len(self.problems) - _SHOWN} more")
        super().__init__("\n".join(shown))


class SnapshotError(AllowlistError):
    """The snapshot file cannot be read or is not a complete snapshot. Names the file."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {reason}")


class DeltaError(AllowlistError):
    """A delta that cannot be applied. Nothing was changed, on disk or in memory."""


class StaleDelta(DeltaError):
    """A delta built on another version than the one held: fetch a snapshot instead."""

    def __init__(self, base_version: int, current_version: int) -> None:
        self.base_version = base_version
        self.current_version = current_version
        super().__init__(
            f"delta applies to version {base_version}, this allowlist is at version "
            f"{current_version}"
        )
