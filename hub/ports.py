"""What application code (actions, the SLA engine, recalculation, the demo loader) uses of
the process it runs in, as a structural type: the process's wiring (`deps.Hub`, built
once at startup in `main.py` / `workers/timers.py`) satisfies it, and application modules
import this instead of the container, so nothing below the adapters imports `deps`.
Imports for annotations only: this module adds no edge to the import graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hub.cases.writer import CaseWriter
    from hub.clock import Clock
    from hub.config import Settings
    from hub.db import Database
    from hub.dispatch.reference import ReferenceCache
    from hub.metrics import Metrics


class Services(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def reference(self) -> ReferenceCache: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def writer(self) -> CaseWriter:
        """The group-commit writer of new cases."""

    def committed(self) -> None:
        """Events were committed: wake publishing (the relay, then the consumers)."""
