"""Where photos are kept. Read here rather than in `hub.config` so the attachments package
stays self-contained; like every setting it is an `HUB_*` variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_PHOTO_BYTES = 5 * 1024 * 1024


class AttachmentSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_ATTACHMENTS_", env_file=".env", extra="ignore"
    )

    dir: Path = Path("./var/attachments")
    max_bytes: int = Field(default=MAX_PHOTO_BYTES, ge=1, le=MAX_PHOTO_BYTES)
    per_case: int = Field(default=20, ge=1, le=1000)


@lru_cache(maxsize=1)
def get_attachment_settings() -> AttachmentSettings:
    return AttachmentSettings()
