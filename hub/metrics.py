from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.calendar_unknown_year = Gauge(
            "hub_calendar_unknown_year",
            "1 for each year counted weekends-only because no holiday schedule is known",
            ["year"],
            registry=self.registry,
        )
