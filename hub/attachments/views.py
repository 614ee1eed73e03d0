"""Photos for a case: uploaded by the people who work it, read by anyone who may see it.
Access goes through the case (`hub.auth.scope` via `get_case`): a case outside the
caller's scope answers 404, as everywhere else."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func
from sqlmodel import col, select

from hub.attachments import store
from hub.attachments.config import AttachmentSettings, get_attachment_settings
from hub.attachments.models import Attachment
from hub.attachments.sniff import SNIFF_BYTES, image_type
from hub.auth.deps import CurrentUser
from hub.auth.permissions import Permission
from hub.cases.machine import TERMINAL_STATES
from hub.cases.queries import get_case
from hub.deps import HubDep
from hub.errors import Conflict, HubError, NotFound, Unprocessable
from hub.schemas import LocalTime, PathId

router = APIRouter(tags=["attachments"])
SettingsDep = Annotated[AttachmentSettings, Depends(get_attachment_settings)]


class TooLarge(HubError):
    status_code = 413
    code = "body_too_large"


class UnsupportedMedia(HubError):
    status_code = 415
    code = "unsupported_media_type"


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    uploaded_by: int
    content_type: str
    size_bytes: int
    sha256: str
    filename: str
    created_at: LocalTime
    url: str = ""


def _out(row: Attachment) -> AttachmentOut:
    out = AttachmentOut.model_validate(row)
    out.url = f"/api/v1/attachments/{row.id}"
    return out


def _display_name(raw: str | None) -> str:
    name = re.split(r"[\\/]", raw or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:200] or "photo"


@router.post(
    "/cases/{case_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    responses={
        400: {"description": "the body is not parseable multipart/form-data"},
        413: {"description": "the photo is over the size limit (5 MiB)"},
        415: {"description": "not a JPEG, PNG or WebP image (judged by its bytes)"},
    },
)
async def upload_attachment(
    case_id: PathId,
    file: Annotated[UploadFile, File(description="a JPEG, PNG or WebP photo, at most 5 MiB")],
    hub: HubDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> AttachmentOut:
    user.check(Permission.CASE_ATTACH)
    async with hub.db.read() as session:
        case = await get_case(session, case_id, user)
        count = (
            await session.exec(
                select(func.count()).select_from(Attachment).where(Attachment.case_id == case_id)
            )
        ).one()
    if case.state in TERMINAL_STATES:
        raise Conflict(
            f"case {case_id} is {case.state.value}: it takes no more photos",
            kind="case_finished",
            state=case.state.value,
        )
    if count >= settings.per_case:
        raise Conflict(
            f"case {case_id} already has {count} photos (the limit)",
            kind="photo_limit",
            limit=count,
        )
    data = await file.read(settings.max_bytes + 1)
    if len(data) > settings.max_bytes:
        raise TooLarge(f"the photo is over {settings.max_bytes} bytes", field="file")
    if not data:
        raise Unprocessable("file", "the file is empty")
    content_type = image_type(data[:SNIFF_BYTES])
    if content_type is None:
        raise UnsupportedMedia("only JPEG, PNG and WebP photos are accepted", field="file")
    digest, name = await asyncio.to_thread(store.save, settings.dir, data, content_type)
    row = Attachment(
        case_id=case_id,
        uploaded_by=user.user_id,
        content_type=content_type,
        size_bytes=len(data),
        sha256=digest,
        filename=_display_name(file.filename),
        stored_as=name,
        created_at=hub.clock.now(),
    )
    async with hub.db.transaction() as session:
        session.add(row)
    return _out(row)


@router.get("/cases/{case_id}/attachments", response_model=list[AttachmentOut])
async def list_attachments(case_id: PathId, hub: HubDep, user: CurrentUser) -> list[AttachmentOut]:
    async with hub.db.read() as session:
        await get_case(session, case_id, user)
        rows = (
            await session.exec(
                select(Attachment).where(Attachment.case_id == case_id).order_by(col(Attachment.id))
            )
        ).all()
    return [_out(r) for r in rows]


@router.get(
    "/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
async def get_attachment(
    attachment_id: PathId, hub: HubDep, user: CurrentUser, settings: SettingsDep
) -> FileResponse:
    async with hub.db.read() as session:
        row = await session.get(Attachment, attachment_id)
        if row is None:
            raise NotFound(f"no attachment {attachment_id}")
        try:
            await get_case(session, row.case_id, user)
        except NotFound:
            raise NotFound(f"no attachment {attachment_id}") from None
    path = store.path_of(settings.dir, row.stored_as)
    if path is None:
        raise NotFound(f"attachment {attachment_id} is missing from the store")
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={
            "Cache-Control": "private, max-age=86400",
            "X-Content-Type-Options": "nosniff",
        },
    )
