"""Logging for `hub serve` and `hub worker`: one JSON object a line (`HUB_LOG_FORMAT=json`,
the image's default) or readable text, both carrying the request id of the request that
wrote the line. The stdlib's logging, since uvicorn, SQLAlchemy and Alembic all log through
it; a formatter is all it takes."""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any, Literal

from hub.trace import current_request_id

LogFormat = Literal["text", "json"]
# What every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


NO_REQUEST = "-"  # the request id of lines written outside any request


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or NO_REQUEST
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            # The time the record was made, converted; no clock is read here.
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and value is not None:
                entry[key] = value
        if entry.get("request_id") == NO_REQUEST:
            del entry["request_id"]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def config(level: str, fmt: LogFormat) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the hub and the libraries under it (uvicorn
    applies it in `hub serve`): everything to stderr in one format."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    quiet = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"hub": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "hub",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # uvicorn's own handlers are replaced by the root's; its access log by hub.access.
        "loggers": {
            "uvicorn": quiet,
            "uvicorn.error": quiet,
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def configure(level: str, fmt: LogFormat) -> None:
    logging.config.dictConfig(config(level, fmt))
