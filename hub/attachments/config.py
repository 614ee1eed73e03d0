"""Where photos are kept and how many, as the attachments endpoints see it: a view of the
hub's one settings reader (`hub.config.Settings`, the `HUB_ATTACHMENTS_*` variables), and
a dependency that tests override to point at a temporary folder."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from pydantic import BaseModel, Field

from hub.config import MAX_PHOTO_BYTES


class AttachmentSettings(BaseModel):
    dir: Path = Path("./var/attachments")
    max_bytes: int = Field(default=MAX_PHOTO_BYTES, ge=1, le=MAX_PHOTO_BYTES)
    per_case: int = Field(default=20, ge=1, le=1000)


async def get_attachment_settings(request: Request) -> AttachmentSettings:
    s = request.app.state.hub.settings
    return AttachmentSettings(
        dir=s.attachments_dir, max_bytes=s.attachments_max_bytes, per_case=s.attachments_per_case
    )


__all__ = ["MAX_PHOTO_BYTES", "AttachmentSettings", "get_attachment_settings"]
