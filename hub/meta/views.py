"""GET /api/v1/meta: the wire contract (hub/meta/contract.py) for the screens.

Public like the login page, which needs its words before anyone has logged in; it holds
code tables and labels only, no data. Served with its version as a strong ETag, so a screen
revalidates it on every load for the price of a 304."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from hub.meta.contract import document, encoded

router = APIRouter(tags=["meta"])


@router.get(
    "/meta",
    summary="The wire contract: states, actions and their fields, events, roles, errors",
    responses={
        200: {"description": "the contract; `version` is also the ETag"},
        304: {"description": "the caller's copy (If-None-Match) is current"},
    },
)
async def meta(
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    etag = f'"{document()["version"]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(encoded(), media_type="application/json", headers=headers)
