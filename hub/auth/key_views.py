from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from hub.auth.deps import CurrentUser, require
from hub.auth.keys import new_key
from hub.auth.models import ApiKey, User
from hub.auth.permissions import Permission
from hub.cases.machine import Action
from hub.db import on_commit
from hub.deps import Hub, HubDep
from hub.enums import Role
from hub.errors import NotFound, Unprocessable
from hub.schemas import MAX_ID, LocalTime, PathId, Strict

router = APIRouter(
    prefix="/api-keys", tags=["auth"], dependencies=[require(Permission.USERS_MANAGE)]
)
GRANT_NAMES = frozenset(p.value for p in Permission) | frozenset(a.value for a in Action)


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role
    region_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    grants: list[str] = Field(min_length=1, max_length=40)

    @field_validator("grants")
    @classmethod
    def _known(cls, grants: list[str]) -> list[str]:
        unknown = sorted(set(grants) - GRANT_NAMES)
        if unknown:
            raise ValueError(f"unknown grants {unknown}; known: {sorted(GRANT_NAMES)}")
        return grants


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    user_id: int
    grants: list[str]
    created_at: LocalTime
    revoked_at: LocalTime | None


class KeyCreated(KeyOut):
    key: str = Field(description="shown once; only its hash is kept")


@router.post("", response_model=KeyCreated, status_code=201)
async def create_key(body: KeyCreate, hub: HubDep, user: CurrentUser) -> KeyCreated:
    raw, prefix, digest = new_key()
    try:
        key = await _store(hub, body, prefix, digest, user.user_id)
    except IntegrityError as exc:
        raise Unprocessable("region_id", "unknown region or department") from exc
    return KeyCreated(**KeyOut.model_validate(key).model_dump(), key=raw)


async def _store(hub: Hub, body: KeyCreate, prefix: str, digest: str, creator: int) -> ApiKey:
    now = hub.clock.now()
    async with hub.db.transaction() as session:
        # The key acts as a service user whose region is its scope; "!" is no valid hash,
        # so nobody can log in as it with a password.
        service = User(
            username=f"key-{prefix}",
            display_name=f"API key {body.name}",
            password_hash="!",
            role=body.role,
            region_id=body.region_id,
            department_id=body.department_id,
            created_at=now,
        )
        session.add(service)
        await session.flush()
        assert service.id is not None
        key = ApiKey(
            name=body.name,
            prefix=prefix,
            secret_hash=digest,
            user_id=service.id,
            grants=body.grants,
            created_at=now,
            created_by=creator,
        )
        session.add(key)
        await session.flush()
    return key


@router.get("", response_model=list[KeyOut])
async def list_keys(hub: HubDep) -> list[ApiKey]:
    async with hub.db.read() as session:
        return list((await session.exec(select(ApiKey).order_by(col(ApiKey.id)))).all())


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: PathId, hub: HubDep) -> None:
    async with hub.db.transaction() as session:
        key = await session.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"no API key {key_id}")
        key.revoked_at = key.revoked_at or hub.clock.now()
        service = await session.get(User, key.user_id)
        if service is not None:
            service.disabled = True
            session.add(service)
        session.add(key)
        on_commit(session, hub.principals.cleared)
