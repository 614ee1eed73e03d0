"""Token-bucket rate limits kept in process memory (per hub process; a shared limit across
processes would live in Redis). Time comes from the injected clock, so tests freeze it."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from hub.clock import Clock
from hub.config import Settings
from hub.errors import TooMany

MAX_TRACKED_KEYS = 100_000  # bounds memory under a flood of distinct usernames/addresses


@dataclass
class _Bucket:
    tokens: float
    at_s: float


class TokenBuckets:
    def __init__(self, clock: Clock, *, per_min: int) -> None:
        self.clock = clock
        self.capacity = float(per_min)
        self.rate_per_s = per_min / 60.0
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float | None:
        """Spend one token for `key`; None if allowed, else seconds until one is back."""
        if self.capacity <= 0:
            return None
        now_s = self.clock.now().timestamp()
        bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now_s)
        bucket.tokens = min(self.capacity, bucket.tokens + (now_s - bucket.at_s) * self.rate_per_s)
        bucket.at_s = now_s
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_TRACKED_KEYS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate_per_s


class RateLimits:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.login_account = TokenBuckets(clock, per_min=settings.login_per_account_per_min)
        self.login_address = TokenBuckets(clock, per_min=settings.login_per_address_per_min)
        self.create = TokenBuckets(clock, per_min=settings.cases_per_client_per_min)

    def check_login(self, username: str, address: str | None) -> None:
        wait = self.login_account.take(username.lower())
        if wait is None and address is not None:
            wait = self.login_address.take(address)
        if wait is not None:
            raise TooMany("too many login attempts; try again later", math.ceil(wait))

    def check_create(self, client: str) -> None:
        wait = self.create.take(client)
        if wait is not None:
            raise TooMany("too many cases created by this client", math.ceil(wait))
