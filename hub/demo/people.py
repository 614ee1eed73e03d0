"""Departments, staff, A/B posts and demo accounts of the demo city."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hub.demo.catalogue_data import GRID_OFFICE
from hub.demo.regions_data import COUNTIES, RegionSeed
from hub.enums import DepartmentKind, DutyStatus, PostMode, PostSlot, Role, StaffRole, Tier

COUNTY_DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("police", "公安局", "Public Security Bureau"),
    ("emergency", "应急管理局", "Emergency Management Bureau"),
    ("market", "市场监管局", "Market Regulation Administration"),
    ("ecology", "生态环境局", "Ecology and Environment Bureau"),
    ("transport", "交通运输局", "Transport Bureau"),
    ("housing", "住房城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("urban", "城市管理局", "Urban Management Bureau"),
    ("water", "水务局", "Water Affairs Bureau"),
    ("culture", "文化旅游局", "Culture and Tourism Bureau"),
    ("hrss", "人力资源社会保障局", "Human Resources and Social Security Bureau"),
    ("civil", "民政局", "Civil Affairs Bureau"),
    ("health", "卫生健康局", "Health Commission"),
)
# Tianjin: these five keep 1–2 people resident in every township ...
RESIDENT_CODES = ("police", "emergency", "market", "ecology", "transport")
# ... and these name people who report to the township when called.
ON_CALL_CODES = ("housing", "culture", "hrss")

# Township offices reuse the county codes of their counterparts, so a whistle raised from
# the township to the county finds the matching bureau under the same code.
TOWNSHIP_OFFICES: tuple[tuple[str, str, str], ...] = (
    (GRID_OFFICE, "网格化管理中心", "Grid Management Centre"),
    ("urban", "综合行政执法队", "Comprehensive Law Enforcement Team"),
    ("civil", "社会事务办", "Social Affairs Office"),
    ("emergency", "应急管理办", "Emergency and Work Safety Office"),
    ("housing", "规划建设办", "Planning and Construction Office"),
    ("hrss", "劳动保障所", "Labour Security Office"),
)
TOWN_ONLY_OFFICES: tuple[tuple[str, str, str], ...] = (
    ("agriculture", "农业农村办", "Agriculture and Rural Affairs Office"),
)
# Share of A posts left off duty or away, so the B-post fallback shows on the wall.
A_POST_ABSENT_SHARE = 0.05

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN_NAMES = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "志强",
    "晓东",
    "海燕",
    "红梅",
    "国庆",
    "文博",
    "子涵",
    "浩然",
    "雨欣",
    "思远",
    "俊杰",
    "佳怡",
    "宇航",
    "欣怡",
    "建国",
    "丽华",
    "春生",
    "玉兰",
    "德明",
    "志刚",
    "晓燕",
    "立新",
    "卫东",
    "秋菊",
    "少华",
    "永红",
)


@dataclass(frozen=True)
class DepartmentSeed:
    key: str  # region code + "/" + department code: unique, used to link rows
    code: str
    kind: DepartmentKind
    region_code: str
    name_zh: str
    name_en: str


@dataclass
class StaffSeed:
    key: str
    name: str
    phone: str
    department_key: str
    region_code: str
    role: StaffRole
    duty_status: DutyStatus = DutyStatus.ON_DUTY


@dataclass(frozen=True)
class PostSeed:
    department_key: str
    township_code: str
    slot: PostSlot
    mode: PostMode
    staff_key: str


@dataclass(frozen=True)
class AccountSeed:
    username: str
    display_name: str
    role: Role
    region_code: str | None
    department_key: str | None = None
    staff_key: str | None = None


def dept_key(region_code: str, code: str) -> str:
    return f"{region_code}/{code}"


class _Names:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def person(self) -> str:
        # Retry until unused, so two staff in a roster are never confused on screen.
        while True:
            name = self._rng.choice(SURNAMES) + self._rng.choice(GIVEN_NAMES)
            if name not in self._used:
                self._used.add(name)
                return name

    def phone(self) -> str:
        return f"139{self._rng.randrange(10**8):08d}"


@dataclass
class Organisation:
    departments: list[DepartmentSeed]
    staff: list[StaffSeed]
    posts: list[PostSeed]


def build_organisation(regions: list[RegionSeed], rng: random.Random) -> Organisation:
    names = _Names(rng)
    org = Organisation([], [], [])
    by_code = {r.code: r for r in regions}
    short_en = {f"{regions[0].code}{c.suffix}": c.short_en for c in COUNTIES}

    def hire(key: str, dkey: str, region: str, role: StaffRole) -> str:
        org.staff.append(StaffSeed(key, names.person(), names.phone(), dkey, region, role))
        return key

    for county in (r for r in regions if r.tier is Tier.COUNTY):
        for code, zh, en in COUNTY_DEPARTMENTS:
            key = dept_key(county.code, code)
            org.departments.append(
                DepartmentSeed(
                    key,
                    code,
                    DepartmentKind.COUNTY,
                    county.code,
                    f"{county.name_zh}{zh}",
                    f"{short_en[county.code]} {en}",
                )
            )
            hire(f"{key}/liaison", key, county.code, StaffRole.LIAISON)
            hire(f"{key}/leader", key, county.code, StaffRole.LEADER)
    for town in (r for r in regions if r.tier is Tier.TOWNSHIP):
        county_code = town.parent_code
        assert county_code is not None
        for code in RESIDENT_CODES + ON_CALL_CODES:
            key = dept_key(county_code, code)
            resident = code in RESIDENT_CODES
            for slot in (PostSlot.A, PostSlot.B) if resident else (PostSlot.A,):
                staff_key = hire(
                    f"{key}/{town.code}/{slot.value}", key, town.code, StaffRole.MEMBER
                )
                mode = PostMode.RESIDENT if resident else PostMode.ON_CALL
                org.posts.append(PostSeed(key, town.code, slot, mode, staff_key))
        offices = TOWNSHIP_OFFICES + (TOWN_ONLY_OFFICES if town.is_town else ())
        for code, zh, en in offices:
            key = dept_key(town.code, code)
            org.departments.append(
                DepartmentSeed(
                    key,
                    code,
                    DepartmentKind.TOWNSHIP,
                    town.code,
                    f"{town.name_zh}{zh}",
                    f"{town.name_en} {en}",
                )
            )
            hire(f"{key}/liaison", key, town.code, StaffRole.LIAISON)
            for i in range(rng.randint(1, 2)):
                hire(f"{key}/member{i}", key, town.code, StaffRole.MEMBER)
    for grid in (r for r in regions if r.tier is Tier.GRID):
        township_code = by_code[by_code[grid.parent_code or ""].parent_code or ""].code
        hire(
            f"grid/{grid.code}",
            dept_key(township_code, GRID_OFFICE),
            grid.code,
            StaffRole.GRID_WORKER,
        )
    return org


def send_some_a_posts_away(org: Organisation, keep: set[str], rng: random.Random) -> None:
    """Mark a few A posts off duty or away (never one in `keep`)."""
    staff = {s.key: s for s in org.staff}
    a_posts = [p for p in org.posts if p.slot is PostSlot.A and p.staff_key not in keep]
    count = max(1, round(len(a_posts) * A_POST_ABSENT_SHARE))
    for post in rng.sample(a_posts, count):
        staff[post.staff_key].duty_status = rng.choice((DutyStatus.OFF, DutyStatus.AWAY))
