from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A placeholder that signs demo tokens only: `HUB_MODE=production` refuses it. It is as
# long as a real key, so PyJWT has no short HMAC key to warn about on every request.
DEFAULT_SECRET = "change-me-demo-only-placeholder-key-not-for-production"
# RFC 7518 §3.2: an HS256 key at least as long as the hash (256 bits).
MIN_SECRET_BYTES = 32
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # a phone photo, resized by the staff page


WORK_HOURS_PATTERN = r"^\d{2}:\d{2}-\d{2}:\d{2}(,\d{2}:\d{2}-\d{2}:\d{2})*$"


class Settings(BaseSettings):
    """The only reader of the environment: every knob is an `HUB_*` variable."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    mode: Literal["demo", "production"] = "demo"
    database_url: str = "sqlite+aiosqlite:///./var/hub.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = DEFAULT_SECRET
    demo_password: str = "demo"
    access_token_ttl_s: int = Field(default=900, ge=30)
    refresh_token_ttl_s: int = Field(default=7 * 86400, ge=60)
    # Rate limits (per minute); 0 switches one off.
    login_per_account_per_min: int = Field(default=10, ge=0)
    login_per_address_per_min: int = Field(default=60, ge=0)
    cases_per_client_per_min: int = Field(default=3000, ge=0)
    # Websocket handshakes must come from these origins (comma-separated) or the hub's own.
    allowed_origins: str = ""
    max_body_bytes: int = 64 * 1024
    # Photos of cases (HUB_ATTACHMENTS_DIR, ..._MAX_BYTES, ..._PER_CASE).
    attachments_dir: Path = Path("./var/attachments")
    attachments_max_bytes: int = Field(default=MAX_PHOTO_BYTES, ge=1, le=MAX_PHOTO_BYTES)
    attachments_per_case: int = Field(default=20, ge=1, le=1000)
    bus_url: str = "memory://"
    # The SLA timers: in the `hub serve` process (the embedded default) or only in
    # `hub worker` processes (set false when running those).
    sla_in_process: bool = True
    sla_lease_s: float = Field(default=15.0, gt=0, le=3600)  # a claim's lease
    sla_poll_s: float = Field(default=0.5, gt=0, le=60)  # longest sleep between looks
    sla_batch: int = Field(default=200, ge=1, le=10_000)
    sla_audit_every_s: float = Field(default=60.0, gt=0)
    # Working hours for deadlines counted in working hours/days (Asia/Shanghai).
    work_hours: str = Field(default="09:00-12:00,13:30-17:30", pattern=WORK_HOURS_PATTERN)
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"  # json: one object a line (the image's)

    @model_validator(mode="after")
    def _check_work_hours(self) -> Settings:
        from hub.sla.calendar import parse_windows

        parse_windows(self.work_hours)
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.mode != "demo" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "HUB_SECRET_KEY must be set to a real secret outside demo mode "
                "(HUB_MODE=production)"
            )
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"HUB_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long")
        return self

    @property
    def origin_allowlist(self) -> frozenset[str]:
        return frozenset(
            o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
