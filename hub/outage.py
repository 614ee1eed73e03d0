"""Which exceptions mean "the database is not reachable right now" — refused or reset
connections, a server starting up or shutting down, a pooled connection that died with a
restart, a pool that stayed exhausted — as opposed to a bug or bad data. The HTTP error
handlers answer these with 503 and Retry-After instead of a 500."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

# asyncpg's own classes, met unwrapped on connect (SQLAlchemy wraps statement errors).
_ASYNCPG_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # incl. ConnectionDoesNotExistError
    asyncpg.exceptions.OperatorInterventionError,  # starting up, admin/crash shutdown
    asyncpg.exceptions.InterfaceError,  # "connection is closed"
    asyncpg.exceptions.TooManyConnectionsError,
)
# SQLite's OperationalError also covers "no such table" (a bug, which stays a 500): only
# these messages are the database being unavailable.
_SQLITE_OUTAGES = ("database is locked", "unable to open database", "disk i/o error")
# Exceptions the stacks of ASGI middlewares and exception groups nest at most this deep.
_MAX_CHAIN = 8


def is_outage(exc: BaseException) -> bool:
    """True when `exc`, or what it was raised from, is the database being unreachable."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < _MAX_CHAIN:
        if _is_outage_here(current):
            return True
        seen += 1
        orig = getattr(current, "orig", None) if isinstance(current, sa_exc.DBAPIError) else None
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def _is_outage_here(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):  # QueuePool limit reached
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.InterfaceError):
            return True
        if isinstance(exc, sa_exc.OperationalError):
            text = str(exc.orig).lower()
            if type(exc.orig).__module__.startswith("sqlite3"):
                return any(m in text for m in _SQLITE_OUTAGES)
            return True
        return False
    if isinstance(exc, _ASYNCPG_OUTAGES):
        return True
    # ConnectionRefusedError, ConnectionResetError, BrokenPipeError: raised by the driver
    # while connecting, before SQLAlchemy wraps anything.
    return isinstance(exc, ConnectionError)


# What the error handlers are registered for; `is_outage` decides within them.
OUTAGE_TYPES: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    ConnectionError,
    asyncpg.exceptions.PostgresError,
    asyncpg.exceptions.InterfaceError,
)
