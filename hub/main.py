from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hub import __version__, errors, scrape
from hub.assessment.views import router as assessment_router
from hub.attachments.views import router as attachments_router
from hub.audit.views import router as audit_router
from hub.auth.guard import Guard
from hub.auth.key_views import router as key_router
from hub.auth.views import router as auth_router
from hub.cases.views import router as cases_router
from hub.catalogue.views import router as catalogue_router
from hub.clock import Clock, SystemClock
from hub.config import Settings, get_settings
from hub.db import Database, background_work
from hub.deps import Hub, HubDep
from hub.inputs import refuse_bad_input
from hub.meta.views import router as meta_router
from hub.middleware import BodyLimit, CatchAll
from hub.org.views import router as org_router
from hub.outbox.runner import ConsumerRunner, default_consumers
from hub.realtime.runtime import Realtime
from hub.realtime.views import router as realtime_router
from hub.realtime.wire import RawSendTap, quiet_client_utf8_errors
from hub.regions.views import router as regions_router
from hub.requestid import RequestId
from hub.sla.engine import SlaEngine
from hub.sla.views import router as sla_router
from hub.web.docs import router as docs_router
from hub.web.pages import router as pages_router
from hub.web.views import router as screens_router


def build_hub(settings: Settings, clock: Clock | None = None) -> Hub:
    return Hub(settings=settings, db=Database(settings.database_url), clock=clock or SystemClock())


GC_YOUNG_THRESHOLD = 20_000
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    settings = settings or (hub.settings if hub else get_settings())
    the_hub = hub or build_hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.hub = the_hub
        started = the_hub.realtime is None
        if started:
            the_hub.realtime = Realtime(
                the_hub.db, the_hub.metrics, settings.bus_url, clock=the_hub.clock
            )
            await the_hub.realtime.start()
        timers = the_hub.sla is None and settings.sla_in_process
        # The consumers of committed events run where the timers do (a worker, or here).
        consumers = ConsumerRunner(the_hub.db, the_hub.clock, default_consumers())
        if timers:
            the_hub.sla = SlaEngine(the_hub)
            with background_work():  # the timers never queue behind client reads
                await the_hub.sla.start()
                consumers.start()
        # Everything allocated so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise stall every socket (docs/benchmarks.md).
        gc.freeze()
        # A request allocates a few thousand objects, nearly all freed by reference
        # counting: at the default threshold the collector ran dozens of young passes a
        # second under ingest load for little garbage (docs/benchmarks.md, Ingest).
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        try:
            yield
        finally:
            await consumers.stop()
            if timers and the_hub.sla is not None:
                await the_hub.sla.stop()
                the_hub.sla = None
            if started and the_hub.realtime is not None:
                await the_hub.realtime.stop()
                the_hub.realtime = None
            if hub is None:  # a hub passed in belongs to the caller
                await the_hub.aclose()

    app = FastAPI(
        title="Whistle-and-report dispatch hub (街乡吹哨、部门报到)",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served by hub.web.docs from vendored copies, not a CDN
        redoc_url=None,
    )
    app.state.hub = the_hub
    errors.install(app)
    # Routes are matched in order, one regular expression each: the hot path (cases, and
    # its ingest above all) goes first so it does not try every other route before its own.
    routers = (
        cases_router,
        auth_router,
        key_router,
        audit_router,
        regions_router,
        org_router,
        catalogue_router,
        attachments_router,
        screens_router,
        sla_router,
        meta_router,
        assessment_router,
    )
    # Every API route passes the input rules (hub/inputs.py), then the permission table
    # (hub/auth/permissions.py ROUTES), before its view.
    api = APIRouter(
        prefix=API_PREFIX,
        responses=errors.ERROR_RESPONSES,
        # Bad input first: a credential header with a NUL must not reach the key lookup.
        dependencies=[Depends(refuse_bad_input), Depends(Guard(API_PREFIX, routers))],
    )
    for router in routers:
        api.include_router(router)
    app.include_router(api)
    app.include_router(realtime_router)
    app.include_router(pages_router)
    app.include_router(docs_router)
    app.include_router(_ops_router())
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CatchAll)  # outside the body limit: an error anywhere leaves as JSON
    # Outside CatchAll: a 500 carries its request id too, and is counted.
    app.add_middleware(RequestId, observe=the_hub.metrics.observe_http)
    app.add_middleware(RawSendTap)  # last added is outermost: it sees the server's own send
    quiet_client_utf8_errors()
    return app


def _ops_router() -> APIRouter:
    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", responses={503: {"description": "the database is unreachable"}})
    async def healthz(hub: HubDep) -> JSONResponse:
        try:
            async with hub.db.read() as session:
                conn = await session.connection()
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "down", "database": str(exc)[:200]}, status_code=503)
        bus_ok = hub.realtime is None or hub.realtime.bus.healthy
        return JSONResponse(
            {
                # Degraded still answers 200: cases are taken and wait in the outbox for the bus.
                "status": "ok" if bus_ok else "degraded",
                "database": hub.db.dialect,
                "bus": "ok" if bus_ok else "unavailable",
                "version": __version__,
            }
        )

    @ops.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    )
    async def metrics(hub: HubDep) -> Response:
        await scrape.refresh(hub)
        return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return ops
