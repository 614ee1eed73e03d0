from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """One registry per hub instance, so several apps in one test process do not clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.cases_created = Counter(
            "hub_cases_created_total",
            "Cases created, by handling tier",
            ["tier"],
            registry=self.registry,
        )
        self.cases_closed = Counter(
            "hub_cases_closed_total",
            "Cases closed, by handling tier",
            ["tier"],
            registry=self.registry,
        )
        self.open_cases = Gauge(
            "hub_open_cases", "Open cases, by state", ["state"], registry=self.registry
        )
        self.action_seconds = Histogram(
            "hub_action_seconds",
            "Time to perform a case action, commit included",
            ["action"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.commit_to_publish = Histogram(
            "hub_commit_to_publish_seconds",
            "From an event's commit to its publication",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=self.registry,
        )
        self.sockets = Gauge(
            "hub_ws_sockets",
            "Open websocket connections, by role",
            ["kind"],
            registry=self.registry,
        )
        self.frames_sent = Counter(
            "hub_ws_frames_sent_total",
            "Frames queued to websocket clients, by type",
            ["type"],
            registry=self.registry,
        )
        self.snapshots_built = Counter(
            "hub_ws_snapshots_built_total",
            "Snapshots queried and encoded (each shared by the subscribers who asked meanwhile)",
            registry=self.registry,
        )
        self.slow_consumer_closes = Counter(
            "hub_ws_slow_consumer_closes_total",
            "Sockets closed because they could not keep up",
            registry=self.registry,
        )
        self.bus_lag = Gauge(
            "hub_bus_lag_positions",
            "Stream positions numbered but not yet delivered here",
            registry=self.registry,
        )
        self.sla_fired = Counter(
            "hub_sla_fired_total",
            "Deadline rungs fired, by step and kind (warning, breach, escalation)",
            ["step", "kind"],
            registry=self.registry,
        )
        self.sla_escalations = Counter(
            "hub_sla_escalations_total",
            "Escalation actions taken, by step and action",
            ["step", "action"],
            registry=self.registry,
        )
        self.sla_lateness = Histogram(
            "hub_sla_lateness_seconds",
            "How late a rung fired after its time",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0),
            registry=self.registry,
        )
        self.sla_pending = Gauge(
            "hub_sla_pending_deadlines", "Deadline rows waiting to fire", registry=self.registry
        )
        self.sla_repairs = Counter(
            "hub_sla_auditor_repairs_total",
            "Deadline rows the auditor found missing and armed",
            registry=self.registry,
        )
        self.sla_failures = Counter(
            "hub_sla_failures_total",
            "Rungs whose firing raised (kept as failed rows)",
            registry=self.registry,
        )
        self.calendar_unknown_year = Gauge(
            "hub_calendar_unknown_year",
            "1 for each year counted weekends-only because no holiday schedule is known",
            ["year"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "hub_http_requests_total",
            "HTTP requests and websocket handshakes answered, by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "hub_http_request_seconds",
            "Time to answer an HTTP request, by method and route (websockets left out)",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.db_pool_in_use = Gauge(
            "hub_db_pool_in_use",
            "Client database connections checked out (read when scraped)",
            registry=self.registry,
        )
        self.db_pool_capacity = Gauge(
            "hub_db_pool_capacity",
            "Client database connections the pool can hand out",
            registry=self.registry,
        )
        self.bus_up = Gauge(
            "hub_bus_up",
            "1 while this process reaches its bus (Redis), 0 while it is lost",
            registry=self.registry,
        )
        self.outbox_unnumbered = Gauge(
            "hub_outbox_unnumbered_events",
            "Committed events still waiting for their stream position (the relay's backlog)",
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "hub_consumer_lag_positions",
            "Stream positions an outbox consumer is behind the newest numbered event",
            ["consumer"],
            registry=self.registry,
        )
        self._http: dict[tuple[str, str, int], tuple[Counter, Histogram | None]] = {}

    def observe_http(self, method: str, route: str, status: int, elapsed_s: float) -> None:
        """One answered request (called by hub.requestid for every request and handshake);
        the labelled children are cached, `labels()` per request would cost more."""
        key = (method, route, status)
        children = self._http.get(key)
        if children is None:
            timed = None if method == "WEBSOCKET" else self.http_seconds.labels(method, route)
            children = self._http[key] = (
                self.http_requests.labels(method, route, str(status)),
                timed,
            )
        children[0].inc()
        if children[1] is not None:
            children[1].observe(elapsed_s)
