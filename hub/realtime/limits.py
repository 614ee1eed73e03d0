"""Per-socket limits on inbound messages: token buckets on the injected clock's elapsed time."""

from __future__ import annotations

from hub.clock import Clock

# Any message: a steady 10 a second, bursts of 20 (a client catching up after a stall);
# beyond that the socket is closed (1008): no real client sends that much.
INBOUND_PER_S, INBOUND_BURST = 10.0, 20
# Subscriptions: each may cost a snapshot query. A screen subscribes once per connection
# and once per drill-down; beyond 2 a second (bursts of 5) the subscribe is refused with an
# error frame (`rate_limited`) and the socket stays open.
SUBSCRIBES_PER_S, SUBSCRIBE_BURST = 2.0, 5


class Bucket:
    def __init__(self, clock: Clock, *, per_s: float, burst: int) -> None:
        self.clock = clock
        self.per_s = per_s
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at_s = clock.monotonic()

    def take(self) -> float | None:
        """Spend a token: None if allowed, else the seconds until one is back."""
        now_s = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now_s - self.at_s) * self.per_s)
        self.at_s = now_s
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.per_s
