"""Who a bearer token belongs to, remembered for a second.

Loading the caller from the database was a read transaction on every request — about a
quarter of the hub's work per created case. A token's principal is kept for `RECHECK_S`
of real time (and never past the token's expiry, on the injected clock). A change this
process makes to a user or key (logout, an admin's edit, a revoked key) clears the cache
once committed; one made through another hub process is seen within `RECHECK_S`, the
same bound as routing's reference data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hub.auth.principal import Principal
from hub.clock import monotonic as real_monotonic

RECHECK_S = 1.0
# A flood of distinct tokens must not grow memory: past this the cache starts over.
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    expires_at: int  # the token's exp claim, epoch seconds
    loaded_at: float  # monotonic


class PrincipalCache:
    def __init__(
        self,
        recheck_s: float = RECHECK_S,
        max_entries: int = MAX_ENTRIES,
        monotonic: Callable[[], float] = real_monotonic,
    ) -> None:
        self.recheck_s = recheck_s
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}

    def get(self, token: str, now: datetime) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        stale = self._monotonic() - entry.loaded_at >= self.recheck_s
        if stale or entry.expires_at <= int(now.timestamp()):
            del self._entries[token]
            return None
        return entry.principal

    def put(self, token: str, principal: Principal, expires_at: int) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token] = _Entry(principal, expires_at, self._monotonic())

    def clear(self) -> None:
        self._entries.clear()

    async def cleared(self) -> None:
        """As an after-commit hook."""
        self.clear()

    def __len__(self) -> int:
        return len(self._entries)
