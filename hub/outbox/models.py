from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from hub.types import UTCDateTime


class ConsumerPosition(SQLModel, table=True):
    """How far one consumer of the event stream has got: the last stream position whose
    effect it has committed. The effect and this row change in one transaction, so a
    consumer restarted at any point neither misses an event nor applies one twice."""

    __tablename__ = "consumer_positions"

    name: str = Field(primary_key=True, max_length=60)
    position: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
