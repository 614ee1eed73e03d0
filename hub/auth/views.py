from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from hub.audit.chains import record
from hub.auth.deps import CurrentUser, require
from hub.auth.models import User
from hub.auth.permissions import Permission
from hub.auth.principal import authenticate, load_principal
from hub.auth.security import hash_password, issue_token, read_token
from hub.db import on_commit
from hub.deps import Hub, HubDep
from hub.enums import Role
from hub.errors import Conflict, NotFound, Unauthorized, Unprocessable
from hub.schemas import MAX_ID, LocalTime, PathId, Strict

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=10, max_length=2000)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    region_id: int | None
    department_id: int | None
    staff_id: int | None
    disabled: bool
    created_at: LocalTime


class UserCreate(Strict):
    username: str = Field(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=4, max_length=200)
    role: Role
    region_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    staff_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class UserPatch(Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, min_length=4, max_length=200)
    role: Role | None = None
    region_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    disabled: bool | None = None


def _tokens(hub: Hub, user_id: int, token_version: int) -> TokenOut:
    now, secret = hub.clock.now(), hub.settings.secret_key
    return TokenOut(
        access_token=issue_token(
            user_id=user_id,
            token_version=token_version,
            secret=secret,
            now=now,
            ttl_s=hub.settings.access_token_ttl_s,
            kind="access",
        ),
        refresh_token=issue_token(
            user_id=user_id,
            token_version=token_version,
            secret=secret,
            now=now,
            ttl_s=hub.settings.refresh_token_ttl_s,
            kind="refresh",
        ),
        expires_in=hub.settings.access_token_ttl_s,
    )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


_SESSION_ENDING = frozenset({"disabled", "role", "region_id", "department_id"})


@router.post("/auth/token", response_model=TokenOut)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], hub: HubDep, request: Request
) -> TokenOut:
    address = _address(request)
    hub.limits.check_login(form.username, address)
    try:
        async with hub.db.read() as session:
            user = await authenticate(session, form.username, form.password)
    except Unauthorized as exc:
        await record(
            hub.db,
            kind="login_failed",
            at=hub.clock.now(),
            username=form.username,
            address=address,
            detail={"reason": exc.message},
        )
        raise
    assert user.id is not None
    await record(
        hub.db,
        kind="login",
        at=hub.clock.now(),
        username=user.username,
        user_id=user.id,
        address=address,
    )
    return _tokens(hub, user.id, user.token_version)


@router.post("/auth/refresh", response_model=TokenOut)
async def refresh(body: RefreshIn, hub: HubDep) -> TokenOut:
    claims = read_token(
        body.refresh_token, secret=hub.settings.secret_key, now=hub.clock.now(), kind="refresh"
    )
    async with hub.db.read() as session:
        user = await load_principal(session, int(claims["sub"]), int(claims["ver"]))
    async with hub.db.read() as session:
        row = await session.get(User, user.user_id)
    assert row is not None
    return _tokens(hub, user.user_id, row.token_version)


@router.post("/auth/logout", status_code=204)
async def logout(hub: HubDep, user: CurrentUser, request: Request) -> None:
    """Ends every session of the caller: all their access and refresh tokens stop working."""
    async with hub.db.transaction() as session:
        row = await session.get(User, user.user_id)
        assert row is not None
        row.token_version += 1
        session.add(row)
        on_commit(session, hub.principals.cleared)
    await record(
        hub.db,
        kind="logout",
        at=hub.clock.now(),
        username=user.username,
        user_id=user.user_id,
        address=_address(request),
    )


@router.get("/auth/me", response_model=UserOut)
async def me(hub: HubDep, user: CurrentUser) -> User:
    async with hub.db.read() as session:
        row = await session.get(User, user.user_id)
    assert row is not None
    return row


@router.get("/users", response_model=list[UserOut], dependencies=[require(Permission.USERS_MANAGE)])
async def list_users(
    hub: HubDep,
    role: Role | None = None,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[User]:
    stmt = select(User).where(col(User.id) > after_id).order_by(col(User.id)).limit(limit)
    if role is not None:
        stmt = stmt.where(User.role == role)
    async with hub.db.read() as session:
        return list((await session.exec(stmt)).all())


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    dependencies=[require(Permission.USERS_MANAGE)],
)
async def create_user(body: UserCreate, hub: HubDep) -> User:
    user = User(
        **body.model_dump(exclude={"password"}),
        password_hash=hash_password(body.password),
        created_at=hub.clock.now(),
    )
    try:
        async with hub.db.transaction() as session:
            session.add(user)
    except IntegrityError as exc:
        raise Conflict(
            f"username {body.username!r} is taken, or a referenced id does not exist",
            kind="username_taken",
        ) from exc
    return user


@router.patch(
    "/users/{user_id}", response_model=UserOut, dependencies=[require(Permission.USERS_MANAGE)]
)
async def update_user(user_id: PathId, body: UserPatch, hub: HubDep, me: CurrentUser) -> User:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Unprocessable("body", "nothing to change")
    if user_id == me.user_id and (changes.get("disabled") or "role" in changes):
        raise Conflict("an admin may not disable or demote their own account", kind="self_demote")
    try:
        async with hub.db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise NotFound(f"no user {user_id}")
            if (password := changes.pop("password", None)) is not None:
                user.password_hash = hash_password(password)
            # Disabling, a new password or a new role or scope ends the sessions already out.
            if password is not None or set(changes) & _SESSION_ENDING:
                user.token_version += 1
            for name, value in changes.items():
                setattr(user, name, value)
            session.add(user)
            on_commit(session, hub.principals.cleared)
    except IntegrityError as exc:
        raise Unprocessable("body", "a referenced region or department does not exist") from exc
    return user
