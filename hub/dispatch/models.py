from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class ReferenceVersion(SQLModel, table=True):
    """One row, bumped by every change to regions, catalogue, departments, staff or posts."""

    __tablename__ = "reference_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=1, sa_type=BigInteger)
