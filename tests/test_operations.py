"""Operations: the request id reaches the events a request writes; /metrics carries the
series the dashboard and the alerts read (requests by route template, the pool, the bus,
the relay's backlog, consumer lag); `hub serve` closes its sockets with 4010 on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import select
from websockets.exceptions import ConnectionClosed

from hub.auth.security import issue_token
from hub.cases.models import CaseEvent
from hub.deps import Hub
from hub.outbox.runner import default_consumers
from hub.realtime.models import StreamState
from hub.realtime.protocol import CloseCode
from tests.conftest import SECRET
from tests.helpers import Api, Auth
from tests.live import Client, ws_client
from tests.procs import HubProcess
from tests.world import World


async def test_events_carry_the_id_of_the_request_that_wrote_them(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    api = Api(client, auth)
    body = {"title": "井盖缺失", "grid_code": "339901001001001", "category_code": "T01"}
    headers = {**auth("dispatcher"), "X-Request-Id": "create-0001-abcd"}
    created = (await client.post("/api/v1/cases", json=body, headers=headers)).json()
    r = await client.post(
        f"/api/v1/cases/{created['id']}/cancel",
        json={"version": created["version"], "reason": "重复上报"},
        headers={**auth("dispatcher"), "X-Request-Id": "cancel-0002-abcd"},
    )
    assert r.status_code == 200, r.text
    events = await api.events(created["id"])
    by_request = {e["type"]: e["request_id"] for e in events}
    assert set(by_request.values()) == {"create-0001-abcd", "cancel-0002-abcd"}
    assert by_request["cancelled"] == "cancel-0002-abcd"
    assert by_request["created"] == "create-0001-abcd"


def _series(text: str, name: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


async def test_metrics_count_requests_by_route_template_and_read_the_gauges(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    api = Api(client, auth)
    await api.create(category_code="T01")
    for junk in ("999999", "424242"):
        r = await client.get(f"/api/v1/cases/{junk}", headers=auth("admin"))
        assert r.status_code == 404
    await client.get("/no/such/page")
    text = (await client.get("/metrics")).text
    requests = _series(text, "hub_http_requests_total")
    assert (
        requests[
            'hub_http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="404"}'
        ]
        == 2
    )
    created = 'hub_http_requests_total{method="POST",route="/api/v1/cases",status="201"}'
    assert requests[created] == 1
    assert requests['hub_http_requests_total{method="GET",route="unmatched",status="404"}'] == 1
    assert not any("999999" in key for key in requests), "ids never become series"
    assert _series(text, "hub_http_request_seconds_count")
    async with hub.db.read() as session:
        events = (await session.exec(select(CaseEvent))).all()
        stream = (await session.exec(select(StreamState))).first()
    unnumbered = sum(1 for e in events if e.position is None)
    assert _series(text, "hub_outbox_unnumbered_events") == {
        "hub_outbox_unnumbered_events": unnumbered
    }
    head = stream.last_position if stream else 0
    lag = _series(text, "hub_consumer_lag_positions")
    assert lag == {
        f'hub_consumer_lag_positions{{consumer="{c.name.value}"}}': head
        for c in default_consumers()
    }
    assert _series(text, "hub_bus_up")["hub_bus_up"] == 1
    capacity = _series(text, "hub_db_pool_capacity")["hub_db_pool_capacity"]
    in_use = _series(text, "hub_db_pool_in_use")["hub_db_pool_in_use"]
    assert capacity >= 2 and 0 <= in_use <= capacity


async def test_a_lost_bus_shows_on_the_gauge(client: httpx.AsyncClient, hub: Hub) -> None:
    class Lost:
        healthy = False

    class Runtime:
        bus = Lost()

    hub.realtime = Runtime()  # type: ignore[assignment]
    try:
        text = (await client.get("/metrics")).text
    finally:
        hub.realtime = None
    assert _series(text, "hub_bus_up")["hub_bus_up"] == 0


async def _read_until_closed(client: Client) -> None:
    while True:
        await client.recv(timeout_s=10)


@pytest.fixture
def served(db_url: str) -> Iterator[HubProcess]:
    env = {
        "HUB_DATABASE_URL": db_url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_SLA_IN_PROCESS": "false",
        "HUB_LOG_LEVEL": "warning",
    }
    proc = HubProcess(env, hub_serve=True)
    proc.start()
    yield proc
    proc.kill()


async def test_hub_serve_closes_sockets_with_4010_on_sigterm(
    served: HubProcess, world: World
) -> None:
    token = issue_token(
        user_id=world.user["dispatcher"],
        token_version=0,
        secret=SECRET,
        now=datetime.now(UTC),  # wall-clock: the hub process runs on the real clock
        ttl_s=600,
        kind="access",
    )
    async with ws_client(served.addr, token) as wall:
        await wall.send({"type": "subscribe", "topics": [{"kind": "region", "key": "339901001"}]})
        await wall.until(lambda f: f["type"] == "snapshot")
        assert served.proc is not None
        served.proc.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            await _read_until_closed(wall)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CloseCode.SHUTDOWN == 4010
    assert re.search("since", closed.value.rcvd.reason)
    # A clean exit: uvicorn re-raises the SIGTERM it handled once shutdown is done.
    assert await asyncio.to_thread(served.proc.wait, 15) in (0, -signal.SIGTERM)


def test_route_templates_keep_their_prefix_and_never_the_raw_path() -> None:
    from starlette.routing import Route

    from hub.requestid import UNMATCHED, _route

    def of(template: str, path: str) -> str:
        return _route({"route": Route(template, lambda r: None), "path": path})

    assert of("/cases/{case_id}/events", "/api/v1/cases/7/events") == (
        "/api/v1/cases/{case_id}/events"
    )
    assert of("/cases", "/api/v1/cases") == "/api/v1/cases"
    assert of("/static/{relative:path}", "/static/js/wall.js") == "/static/{relative:path}"
    assert of("/{code}", "/api/v1/regions/339901") == "/api/v1/regions/{code}"
    assert of("/{code}/children", "/api/v1/regions/3399/children") == (
        "/api/v1/regions/{code}/children"
    )
    assert of("/ws", "/ws") == "/ws"
    assert _route({"path": "/nothing"}) == UNMATCHED


async def test_every_route_is_counted_under_its_own_template(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    from fastapi.routing import APIRoute

    from hub.main import create_app

    app = create_app(hub=hub)
    templates: dict[str, str] = {}
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path != "/metrics":
            path = re.sub(r"\{[^}:]+:path\}", "a/b", route.path)
            templates[re.sub(r"\{[^}]+\}", "1", path)] = route.path
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        for path, template in templates.items():
            route = next(r for r in app.routes if getattr(r, "path", None) == template)
            method = sorted(getattr(route, "methods", {"GET"}))[0]
            await c.request(method, path)  # unauthenticated: routed, then refused
        text = (await c.get("/metrics")).text
    labels = set(re.findall(r'hub_http_requests_total\{method="[A-Z]+",route="([^"]*)"', text))
    assert labels - {"unmatched"} == set(templates.values())
