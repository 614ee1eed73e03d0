from __future__ import annotations

import pytest

from hub.auth.ws import authenticate_message, origin_allowed
from hub.config import Settings
from hub.deps import Hub
from hub.errors import Unauthorized
from tests.helpers import Auth


def test_origin_allowlist() -> None:
    settings = Settings(allowed_origins="https://wall.example.gov.cn, http://10.0.0.5:8080/")
    assert origin_allowed(settings, "https://wall.example.gov.cn", "hub:8000")
    assert origin_allowed(settings, "http://10.0.0.5:8080", "hub:8000")
    assert origin_allowed(settings, "http://hub:8000", "hub:8000")  # same origin
    assert not origin_allowed(settings, "https://evil.example.com", "hub:8000")
    assert origin_allowed(settings, None, "hub:8000")


async def test_first_message_authentication(hub: Hub, auth: Auth) -> None:
    token = auth("wall")["Authorization"].split()[1]
    principal = await authenticate_message(hub, {"type": "auth", "token": token})
    assert principal.username == "wall"
    for bad in (
        {"type": "auth", "token": "forged"},
        {"type": "subscribe"},
        "auth",
        None,
        {"type": "auth"},
        {"type": "auth", "token": 5},
    ):
        with pytest.raises(Unauthorized):
            await authenticate_message(hub, bad)
