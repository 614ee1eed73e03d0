from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

from hub.clock import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        aware = as_utc(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return as_utc(value)


def enum_type(enum_cls: type[Enum]) -> sa.Enum:
    """Store an enum's value as a plain string column (no native PG type to migrate)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def EnumField(enum_cls: type[Enum], **kwargs: Any) -> Any:
    return Field(sa_type=enum_type(enum_cls), **kwargs)


# `default_factory=list` (or dict) made pydantic 2.14 parse the builtin's text signature
# on every model construction, to learn whether the factory takes the validated data:
# half the cost of building a Case. A plain function's signature is cheap.
def empty_list() -> list[Any]:
    return []


def empty_dict() -> dict[str, Any]:
    return {}
