"""Shared wire types and the rules every input obeys: times leave the API in China
Standard Time; text carries no NUL, no other control character and no lone surrogate;
numbers are finite."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from hub.clock import SHANGHAI, as_utc

# PostgreSQL refuses NUL in text where SQLite stores it, and a lone surrogate has no UTF-8
# form for either driver or for JSON: refused on input, the two backends agree.
# Other C0 controls (and DEL) are no part of any text a person types; TAB, LF and CR are.
_FORBIDDEN_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_fault(value: str) -> str | None:
    """What makes `value` unacceptable as text, or None if nothing does."""
    found = _FORBIDDEN_CHAR.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "text may not contain NUL (U+0000)"
    if 0xD800 <= code <= 0xDFFF:
        return f"text may not contain a lone surrogate (U+{code:04X})"
    return f"text may not contain the control character U+{code:04X}"


_TIME_RANGE = "outside years 1-9999 in UTC or in China Standard Time"


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
    try:
        utc = as_utc(value)
        utc.astimezone(SHANGHAI)  # it must also be showable, as every time leaves the API
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{value.isoformat()} is {_TIME_RANGE}") from exc
    return utc


# Accepts any offset, stores UTC, shows Asia/Shanghai (+08:00).
LocalTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_aware),
    PlainSerializer(lambda v: v.astimezone(SHANGHAI).isoformat(), return_type=str),
]


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    # hub/inputs.py refuses NaN and Infinity in every request; this keeps bodies built
    # in code (the demo, the simulator) to the same rule.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


T = TypeVar("T")

# Ids are PostgreSQL `integer`s: anything larger cannot name a row, and must be a 422
# rather than an overflow deep in the driver.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
