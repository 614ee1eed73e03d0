"""Objects on three disjoint townships for the access tests, and the callers who probe them.

East is Dongmen (339901001), west is Ximen (339901002, same county), south is Nanshan
(339902001, the other county). Each side gets a case with a photo, a staff member with a
phone number holding an A post, and its township office; an object of a side outside a
caller's region is foreign to that caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from hub.auth.permissions import Permission, may
from hub.cases.machine import Action
from hub.deps import Hub
from hub.enums import PostMode, PostSlot, Role, StaffRole
from hub.org.models import Post, Staff
from tests.helpers import Api, Auth
from tests.world import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x22" * 500
TOWNSHIPS = {"east": "339901001", "west": "339901002", "south": "339902001"}
GRIDS = {"east": "339901001001001", "west": "339901002001001", "south": "339902001001001"}
# Two machine clients of Dongmen: a hotline that reads and files cases, and one that files.
KEY_GRANTS = {"key": ("case.read", "case.create"), "key_create": ("case.create",)}


@dataclass
class Side:
    name: str
    township: str
    grid: str
    case_id: int = 0
    case_version: int = 0
    attachment_id: int = 0
    staff_id: int = 0
    post_id: int = 0
    department_id: int = 0  # the township's office

    def tokens(self) -> set[tuple[str, object]]:
        """What identifies this side's objects in a listing."""
        return {
            ("case", self.case_id),
            ("attachment", self.attachment_id),
            ("staff", self.staff_id),
            ("post", self.post_id),
            ("department", self.department_id),
            ("region", self.township),
        }


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role
    headers: dict[str, str]
    foreign: tuple[str, ...]  # sides wholly outside the caller's region
    home: str | None  # a side whose objects the caller sees, if any
    api_key: str | None = None
    grants: tuple[str, ...] = ()  # an API key's

    def may(self, what: Permission | Action | None) -> bool:
        """The permission table's answer, computed here from the table itself."""
        if what is None:
            return True
        return may(self.role, what) and (self.api_key is None or what.value in self.grants)


@dataclass
class AccessWorld:
    sides: dict[str, Side] = field(default_factory=dict)
    callers: dict[str, Caller] = field(default_factory=dict)
    key_id: int = 0


async def build(client: httpx.AsyncClient, auth: Auth, world: World, hub: Hub) -> AccessWorld:
    api = Api(client, auth)
    out = AccessWorld()
    for name, township in TOWNSHIPS.items():
        side = Side(name, township, GRIDS[name])
        side.department_id = world.dept[(township, "urban")]
        async with hub.db.transaction() as session:
            staff = Staff(
                name=f"{name}-staff",
                phone=f"1380000{len(out.sides):04d}",
                department_id=side.department_id,
                region_id=world.region[township],
                role=StaffRole.MEMBER,
            )
            session.add(staff)
            await session.flush()
            assert staff.id is not None
            post = Post(
                department_id=side.department_id,
                township_id=world.region[township],
                slot=PostSlot.B,
                mode=PostMode.RESIDENT,
                staff_id=staff.id,
            )
            session.add(post)
            await session.flush()
            assert post.id is not None
            side.staff_id, side.post_id = staff.id, post.id
        case = await api.create(user="admin", category_code="T01", grid_code=side.grid)
        side.case_id, side.case_version = case["id"], case["version"]
        r = await client.post(
            f"/api/v1/cases/{side.case_id}/attachments",
            files={"file": ("site.png", PNG, "image/png")},
            headers=auth("admin"),
        )
        assert r.status_code == 201, r.text
        side.attachment_id = r.json()["id"]
        out.sides[name] = side
    async with hub.db.transaction() as session:
        # Every phone number known, so hiding one is something a test can see.
        await session.exec(
            update(Staff).where(col(Staff.phone).is_(None)).values(phone="13900000000")
        )
    keys: dict[str, str] = {}
    for name, grants in KEY_GRANTS.items():
        r = await client.post(
            "/api/v1/api-keys",
            json={
                "name": name,
                "role": "dispatcher",
                "region_id": world.region[TOWNSHIPS["east"]],
                "grants": list(grants),
            },
            headers=auth("admin"),
        )
        assert r.status_code == 201, r.text
        out.key_id, keys[name] = r.json()["id"], r.json()["key"]
    d, w = Role.DISPATCHER, Role.WALL
    out.callers = {
        "dispatcher": Caller("dispatcher", d, auth("dispatcher"), ("west", "south"), "east"),
        "dispatcher_west": Caller(
            "dispatcher_west", d, auth("dispatcher_west"), ("east", "south"), "west"
        ),
        "dispatcher_south": Caller(
            "dispatcher_south", d, auth("dispatcher_south"), ("east", "west"), "south"
        ),
        # The county police: department-scoped, so no township side is wholly its own.
        "liaison": Caller("liaison", Role.DEPT_LIAISON, auth("liaison"), ("south",), None),
        "wall": Caller("wall", w, auth("wall"), ("south",), "east"),
        "auditor": Caller("auditor", Role.AUDITOR, auth("auditor"), (), "east"),  # the city
    } | {
        name: Caller(name, d, {"X-API-Key": key}, ("west", "south"), "east", key, KEY_GRANTS[name])
        for name, key in keys.items()
    }
    return out


def path_params(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def fill(template: str, values: dict[str, Any]) -> str:
    path = template
    for name in path_params(template):
        path = path.replace(f"{{{name}}}", str(values[name]))
    return path
