"""Shared wire types: times leave the API in China Standard Time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from hub.clock import SHANGHAI, as_utc


def _iso_only(value: object) -> object:
    # Pydantic would read "0.5" or 1700000000 as a Unix time; the API documents ISO 8601.
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("expected an ISO 8601 date-time with an offset") from exc
    if isinstance(value, datetime):
        return value
    raise ValueError("expected an ISO 8601 date-time with an offset")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must include a timezone offset")
    return as_utc(value)


# Accepts any offset, stores UTC, shows Asia/Shanghai (+08:00).
LocalTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_aware),
    PlainSerializer(lambda v: v.astimezone(SHANGHAI).isoformat(), return_type=str),
]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


T = TypeVar("T")

# Ids are PostgreSQL `integer`s: anything larger cannot name a row, and must be a 422
# rather than an overflow deep in the driver.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
