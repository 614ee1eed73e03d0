"""The permission table enforced on every API request, before the view runs: the route's
declared permission must be held by the caller's role and, for an API key, granted to the
key. A route the table does not name is refused, so a new endpoint is closed until someone
decides who may call it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

from hub.auth.deps import api_key_header, bearer_token, current_principal
from hub.auth.permissions import ROUTES, Rule, Scope
from hub.deps import HubDep
from hub.errors import Forbidden


class Guard:
    """A dependency of the API router. Rules are looked up by (method, endpoint function)
    — what the matched route carries whichever way the framework nests included routers —
    from the table's (method, full path) keys, resolved once when the app is built."""

    def __init__(self, prefix: str, routers: Iterable[APIRouter]) -> None:
        self.rules: dict[tuple[str, Callable[..., Any]], Rule] = {}
        for router in routers:
            for route in router.routes:
                if not isinstance(route, APIRoute):
                    continue
                for method in route.methods or ():
                    rule = ROUTES.get((method, prefix + route.path))
                    if rule is not None:
                        self.rules[(method, route.endpoint)] = rule

    async def __call__(self, request: Request, hub: HubDep) -> None:
        route = request.scope.get("route")
        endpoint = route.endpoint if isinstance(route, APIRoute) else None
        rule = self.rules.get((request.method, endpoint)) if endpoint is not None else None
        if rule is None:
            raise Forbidden("no permission is declared for this endpoint", kind="undeclared")
        if rule.scope is Scope.PUBLIC:
            return
        # The headers are read here rather than declared, so public routes do not appear
        # in the OpenAPI spec as needing a credential; the views' `CurrentUser` reuses the
        # principal loaded here.
        principal = await current_principal(
            request, hub, await bearer_token(request), await api_key_header(request)
        )
        if rule.permission is not None:
            principal.check(rule.permission)
