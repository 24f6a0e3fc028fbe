"""Who may see what at head office: bearer tokens from hq.toml's `[[token]]`, each kept as the
SHA-256 of the token (never the token), each for every venue (`["*"]`) or some.

    access = TokenAccess(config.token)
    holder = access.holder(request.headers.get("authorization"))   # None: no token, or wrong
    holder.sees("V1")

A venue's token sees its venues only: another venue is answered as if it did not exist (404),
never "forbidden" with its name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from hq.service.config import TokenEntry


@dataclass(frozen=True)
class Holder:
    name: str
    venues: frozenset[str]

    @property
    def everywhere(self) -> bool:
        return "*" in self.venues

    def sees(self, venue: str) -> bool:
        return self.everywhere or venue in self.venues

    def visible(self, venues: Sequence[str]) -> list[str]:
        return [v for v in venues if self.sees(v)]


def hashed(token: str) -> str:
    """How hq.toml keeps a token: `sha256:` and its hex digest."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh token (to hand to its holder once) and its hq.toml secret."""
    token = secrets.token_urlsafe(32)
    return token, hashed(token)


class TokenAccess:
    def __init__(self, tokens: Sequence[TokenEntry]) -> None:
        self._tokens = [(t.secret, Holder(t.name, frozenset(t.venues))) for t in tokens]

    def holder(self, header: str | None) -> Holder | None:
        if not header or not header.startswith("Bearer "):
            return None
        presented = hashed(header.removeprefix("Bearer ").strip())
        found = None
        for secret, holder in self._tokens:  # every one compared: no timing tells which
            if hmac.compare_digest(presented, secret):
                found = holder
        return found
