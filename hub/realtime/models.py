from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class StreamState(SQLModel, table=True):
    """One row: the last stream position handed out and the last one known published.

    Positions are assigned after commit by the relay, under a lock on this row, to events
    that have none yet. A transaction that commits late simply gets a later position, so a
    reader resuming "after position N" can never skip it (sequence ids would allow that)."""

    __tablename__ = "stream_state"

    id: int = Field(default=1, primary_key=True)
    last_position: int = Field(default=0, sa_type=BigInteger)
    published_position: int = Field(default=0, sa_type=BigInteger)
