"""The one place that reads the machine's clocks.

Business time (`now`) is what deadlines, events and tokens are stamped with; tests freeze
it. Elapsed time (`monotonic`) paces caches, throttles and metrics; a frozen clock still
lets it run (a cache of one second must expire in a test too) and adds every `advance`,
so a test that moves time forward also ages what was cached. Nothing outside this module
calls `datetime.now`, `time.time` or `time.monotonic` (tests/test_clock_discipline.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


def monotonic() -> float:
    """Seconds of elapsed real time, for code that has no Clock at hand (metrics)."""
    return time.monotonic()


def perf_counter() -> float:
    return time.perf_counter()


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FrozenClock:
    """A clock that only moves when told to; tests use it instead of sleeping."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)
        self._advanced_s = 0.0

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        return time.monotonic() + self._advanced_s

    def advance(self, delta: timedelta) -> None:
        self._at += delta
        self._advanced_s += max(delta.total_seconds(), 0.0)

    def set(self, at: datetime) -> None:
        at = at.astimezone(UTC)
        self._advanced_s += max((at - self._at).total_seconds(), 0.0)
        self._at = at


def as_utc(value: datetime) -> datetime:
    """Treat naive values as UTC (SQLite drops the offset) and normalise aware ones.

    Raises ValueError (not OverflowError) for an instant outside years 1-9999 in UTC,
    such as year 1 at +08:00, so validators report it as bad input."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{value.isoformat()} is outside the representable range") from exc
