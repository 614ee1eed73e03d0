"""Malformed input on `/ws`, class by class, at a live socket: each gets an `error` frame
with the socket still usable, or the documented close code; the hub logs no error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import ConnectionClosed

from hub.deps import Hub
from tests.helpers import Auth
from tests.live import Client, serve, ws_client

# text frames that must each answer `bad_message` (under 64 KiB, within the rate limits)
BAD_MESSAGES = {
    "nested arrays": "[" * 30_000 + "]" * 30_000,
    "nested objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "nested inside a valid type": '{"type":"subscribe","topics":' + "[" * 5000 + "]" * 5000 + "}",
    "not JSON": "{not json",
    "empty": "",
    "a number beyond a double": '{"type":"ack","case_id":1e400,"version":1}',
    "a long integer": '{"type":"ack","case_id":' + "9" * 5000 + ',"version":1}',
    "an id beyond any id": '{"type":"ack","case_id":99999999999999999999,"version":1}',
    "NaN": '{"type":"ping","nonce":NaN}',
    "a lone surrogate": '{"type":"ping","nonce":"\\ud800"}',
    "an array": "[]",
    "a bare number": "1",
    "null": "null",
    "a type that is a number": '{"type":5}',
    "an unknown type": '{"type":"hello"}',
    "no type": '{"topics":[]}',
    "an extra field": '{"type":"ping","extra":1}',
    "topics not a list": '{"type":"subscribe","topics":"x"}',
    "no topics": '{"type":"subscribe","topics":[]}',
    "a topic of another kind": '{"type":"subscribe","topics":[{"kind":"galaxy"}]}',
    "a key that is not a code": '{"type":"subscribe","topics":[{"kind":"region","key":"x"}]}',
    "a negative since": '{"type":"subscribe","topics":[{"kind":"inbox"}],"since":-1}',
    "a nonce object": '{"type":"ping","nonce":{"a":1}}',
    "a list as case id": '{"type":"ack","case_id":[1],"version":1}',
}


@pytest.fixture
async def live(hub: Hub) -> AsyncIterator[str]:
    async with serve(hub) as addr:
        yield addr


def token(auth: Auth, user: str) -> str:
    return auth(user)["Authorization"].split()[1]


async def still_usable(c: Client) -> None:
    await c.send({"type": "ping", "nonce": "alive"})
    assert (await c.until(lambda f: f["type"] == "pong"))["nonce"] == "alive"


async def closed_with(c: Client) -> int | None:
    with pytest.raises(ConnectionClosed) as info:
        await c.until(lambda f: False)
    return info.value.rcvd.code if info.value.rcvd is not None else None


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR)
    return caplog


def assert_nothing_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_every_malformed_message_gets_an_error_frame_and_the_socket_stays_usable(
    live: str, auth: Auth, no_errors_logged: pytest.LogCaptureFixture
) -> None:
    names = list(BAD_MESSAGES)
    for start in range(0, len(names), 6):  # a few per socket: the flood limit is not the test
        async with ws_client(live, token(auth, "wall")) as c:
            for name in names[start : start + 6]:
                await c.ws.send(BAD_MESSAGES[name])
                frame = await c.recv()
                assert frame["type"] == "error" and frame["code"] in (
                    "bad_message",
                    "not_found",
                    "forbidden",
                ), (name, frame)
                assert len(frame["message"]) <= 500, name
            await still_usable(c)
    assert_nothing_logged(no_errors_logged)


async def test_out_of_order_messages(
    live: str, auth: Auth, no_errors_logged: pytest.LogCaptureFixture
) -> None:
    async with ws_client(live, token(auth, "wall")) as c:
        await c.send({"type": "auth", "token": token(auth, "wall")})
        assert (await c.recv())["code"] == "already_authenticated"
        await c.send({"type": "ack", "case_id": 1, "version": 1})  # a wall may not ack
        result = await c.until(lambda f: f["type"] == "ack_result")
        assert result["ok"] is False and result["error"]["error"] == "forbidden"
        await still_usable(c)
    for first in ('{"type":"subscribe","topics":[{"kind":"inbox"}]}', "[" * 30_000, "null"):
        async with ws_client(live, None) as c:
            await c.ws.send(first)  # anything but auth first: authentication failed
            assert await closed_with(c) == 4001
    assert_nothing_logged(no_errors_logged)


async def test_frames_that_close_the_socket_close_it_with_the_documented_code(
    live: str, auth: Auth, no_errors_logged: pytest.LogCaptureFixture
) -> None:
    cases: list[tuple[str, bytes | str, bool | None, tuple[int, ...]]] = [
        ("binary", b"\x00binary", None, (1008,)),
        ("invalid UTF-8 in a text frame", b'{"type":"ping","nonce":"\xff\xfe"}', True, (1007,)),
        ("oversized", "x" * (70 * 1024), None, (1008, 1009)),
    ]
    for name, data, text, codes in cases:
        async with ws_client(live, token(auth, "wall")) as c:
            await c.ws.send(data, text=text)
            assert await closed_with(c) in codes, name
    async with ws_client(live, token(auth, "wall")) as c:  # a flood
        for _ in range(100):
            await c.send({"type": "ping"})
        assert await closed_with(c) == 1008
    assert_nothing_logged(no_errors_logged)


async def test_subscribes_beyond_the_rate_are_refused_with_an_error_frame(
    live: str, auth: Auth, no_errors_logged: pytest.LogCaptureFixture
) -> None:
    async with ws_client(live, token(auth, "wall")) as c:
        # Outside the wall's scope: each is answered at once (not_found) and costs a token.
        elsewhere = {"type": "subscribe", "topics": [{"kind": "region", "key": "339902"}]}
        for _ in range(12):
            await c.send(elsewhere)
        await still_usable(c)
        errors = [f for f in c.seen if f["type"] == "error"]
        limited = [f for f in errors if f["code"] == "rate_limited"]
        answered = [f for f in errors if f["code"] == "not_found"]
        # A burst of 5, then 2 a second (a few more may come back while they are answered).
        assert 5 <= len(answered) <= 8 and len(limited) == 12 - len(answered)
        assert all(f["message"].startswith("at most 2 subscribes a second") for f in limited)
        await asyncio.sleep(1.0)  # tokens are back
        subscribe = {"type": "subscribe", "topics": [{"kind": "region", "key": "339901"}]}
        await c.send(subscribe)
        await c.until(lambda f: f["type"] == "snapshot")
    assert_nothing_logged(no_errors_logged)
