from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hub.types import UTCDateTime


class Attachment(SQLModel, table=True):
    """A photo kept by the hub for a case (the staff's evidence of a resolution). The bytes
    live on disk, named by their SHA-256, so the same photo sent twice is stored once."""

    __tablename__ = "attachments"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    uploaded_by: int = Field(foreign_key="users.id")
    content_type: str = Field(max_length=40)
    size_bytes: int
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=200)  # as the client named it, shown only
    stored_as: str = Field(max_length=200)  # relative to the attachments directory
    created_at: datetime = Field(sa_type=UTCDateTime)
