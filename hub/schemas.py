"""Shared wire types: times leave the API in China Standard Time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

from hub.clock import SHANGHAI, as_utc


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must include a timezone offset")
    return as_utc(value)


# Accepts any offset, stores UTC, shows Asia/Shanghai (+08:00).
LocalTime = Annotated[
    datetime,
    AfterValidator(_aware),
    PlainSerializer(lambda v: v.astimezone(SHANGHAI).isoformat(), return_type=str),
]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
