"""The fictional city of Jiangcheng (江城市): its region tree as rectangles that tile each
parent exactly, so the wall's map has no gaps or overlaps."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from hub.enums import Tier

# 33 is a real province prefix but 99 is unused under it, so no real city shares the code.
CITY_CODE = "3399"
CITY_ZH, CITY_EN = "江城市", "Jiangcheng City"


@dataclass(frozen=True)
class Box:
    west: float
    south: float
    east: float
    north: float

    @property
    def center(self) -> tuple[float, float]:
        return round((self.west + self.east) / 2, 6), round((self.south + self.north) / 2, 6)

    def polygon(self) -> dict[str, Any]:
        w, s, e, n = (round(v, 6) for v in (self.west, self.south, self.east, self.north))
        # Counter-clockwise exterior ring, as RFC 7946 asks.
        return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


@dataclass(frozen=True)
class RegionSeed:
    code: str
    tier: Tier
    parent_code: str | None
    name_zh: str
    name_en: str
    box: Box
    is_town: bool = False  # a town (镇) rather than a street (街道): villages, farm offices


@dataclass(frozen=True)
class TownshipSpec:
    suffix: str
    name_zh: str
    name_en: str
    is_town: bool


@dataclass(frozen=True)
class CountySpec:
    suffix: str
    name_zh: str
    name_en: str
    short_en: str
    box: Box
    townships: tuple[TownshipSpec, ...]


def _street(suffix: str, zh: str, en: str) -> TownshipSpec:
    return TownshipSpec(suffix, f"{zh}街道", f"{en} Subdistrict", False)


def _town(suffix: str, zh: str, en: str) -> TownshipSpec:
    return TownshipSpec(suffix, f"{zh}镇", f"{en} Town", True)


# Two urban districts north and south of the river and a rural county to the east.
# Township suffixes follow the national habit: streets 00x, towns 10x.
COUNTIES: tuple[CountySpec, ...] = (
    CountySpec(
        "01",
        "江北区",
        "Jiangbei District",
        "Jiangbei",
        Box(113.0, 23.15, 113.3, 23.4),
        (
            _street("001", "滨江", "Binjiang"),
            _street("002", "望湖", "Wanghu"),
            _street("003", "新桥", "Xinqiao"),
        ),
    ),
    CountySpec(
        "02",
        "江南区",
        "Jiangnan District",
        "Jiangnan",
        Box(113.0, 22.9, 113.3, 23.15),
        (
            _street("001", "南湖", "Nanhu"),
            _street("002", "金沙", "Jinsha"),
            _town("101", "龙口", "Longkou"),
        ),
    ),
    CountySpec(
        "21",
        "青山县",
        "Qingshan County",
        "Qingshan",
        Box(113.3, 22.9, 113.6, 23.4),
        (_town("100", "青山", "Qingshan"), _town("101", "石门", "Shimen")),
    ),
)

# Community and village name stems with their pinyin, assigned without repeats.
NAME_STEMS: tuple[tuple[str, str], ...] = (
    ("东风", "Dongfeng"),
    ("红旗", "Hongqi"),
    ("幸福", "Xingfu"),
    ("和平", "Heping"),
    ("光明", "Guangming"),
    ("朝阳", "Chaoyang"),
    ("桂花", "Guihua"),
    ("荷塘", "Hetang"),
    ("枫林", "Fenglin"),
    ("翠竹", "Cuizhu"),
    ("金湾", "Jinwan"),
    ("银杏", "Yinxing"),
    ("海棠", "Haitang"),
    ("青石", "Qingshi"),
    ("白沙", "Baisha"),
    ("长安", "Chang'an"),
    ("永安", "Yong'an"),
    ("新华", "Xinhua"),
    ("民主", "Minzhu"),
    ("团结", "Tuanjie"),
    ("梅园", "Meiyuan"),
    ("柳塘", "Liutang"),
    ("松岗", "Songgang"),
    ("龙井", "Longjing"),
    ("凤凰", "Fenghuang"),
    ("石桥", "Shiqiao"),
    ("大塘", "Datang"),
    ("上坪", "Shangping"),
    ("下坪", "Xiaping"),
    ("杨梅", "Yangmei"),
    ("竹园", "Zhuyuan"),
    ("南岸", "Nan'an"),
    ("北门", "Beimen"),
    ("西关", "Xiguan"),
    ("东郊", "Dongjiao"),
    ("锦绣", "Jinxiu"),
    ("花园", "Huayuan"),
    ("滨河", "Binhe"),
    ("丰收", "Fengshou"),
    ("茶山", "Chashan"),
    ("湖心", "Huxin"),
    ("马鞍", "Ma'an"),
    ("鹿鸣", "Luming"),
    ("清水", "Qingshui"),
    ("黄泥坳", "Huangni'ao"),
    ("樟树", "Zhangshu"),
    ("棠下", "Tangxia"),
    ("芙蓉", "Furong"),
)


def tile(box: Box, n: int, rng: random.Random) -> list[Box]:
    """Split `box` into `n` rectangles in rows of near-equal counts, north row first; sizes
    vary a little so the map does not look like graph paper."""
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    counts = [n // rows + (1 if r < n % rows else 0) for r in range(rows)]
    heights = _split(box.north, box.south, rows, rng)
    cells: list[Box] = []
    for (top, bottom), count in zip(heights, counts, strict=True):
        for west, east in _split(box.west, box.east, count, rng):
            cells.append(Box(west, bottom, east, top))
    return cells


def _split(start: float, end: float, parts: int, rng: random.Random) -> list[tuple[float, float]]:
    weights = [rng.uniform(0.75, 1.25) for _ in range(parts)]
    total = sum(weights)
    edges = [start]
    for w in weights[:-1]:
        edges.append(edges[-1] + (end - start) * w / total)
    edges.append(end)  # exact, so neighbours share edges with no float drift
    return list(itertools.pairwise(edges))


def build_regions(rng: random.Random) -> list[RegionSeed]:
    """Every region, parents before children."""
    county_boxes = [c.box for c in COUNTIES]
    city_box = Box(
        min(b.west for b in county_boxes),
        min(b.south for b in county_boxes),
        max(b.east for b in county_boxes),
        max(b.north for b in county_boxes),
    )
    out = [RegionSeed(CITY_CODE, Tier.CITY, None, CITY_ZH, CITY_EN, city_box)]
    stems = list(NAME_STEMS)
    rng.shuffle(stems)
    for county in COUNTIES:
        county_code = CITY_CODE + county.suffix
        out.append(
            RegionSeed(
                county_code, Tier.COUNTY, CITY_CODE, county.name_zh, county.name_en, county.box
            )
        )
        for spec, t_box in zip(
            county.townships, tile(county.box, len(county.townships), rng), strict=True
        ):
            township_code = county_code + spec.suffix
            out.append(
                RegionSeed(
                    township_code,
                    Tier.TOWNSHIP,
                    county_code,
                    spec.name_zh,
                    spec.name_en,
                    t_box,
                    spec.is_town,
                )
            )
            out.extend(_communities(township_code, spec, t_box, stems, rng))
    return out


def _communities(
    township_code: str,
    spec: TownshipSpec,
    box: Box,
    stems: list[tuple[str, str]],
    rng: random.Random,
) -> list[RegionSeed]:
    count = rng.choice((4, 5, 5))
    out: list[RegionSeed] = []
    for i, c_box in enumerate(tile(box, count, rng)):
        zh, en = stems.pop()
        # A town keeps one community at its seat; the rest are villages (村, codes 2xx).
        village = spec.is_town and i > 0
        code = township_code + (f"{200 + i:03d}" if village else f"{i + 1:03d}")
        name_zh = f"{zh}村" if village else f"{zh}社区"
        name_en = f"{en} Village" if village else f"{en} Community"
        out.append(RegionSeed(code, Tier.COMMUNITY, township_code, name_zh, name_en, c_box))
        grids = tile(c_box, rng.randint(5, 7), rng)
        for j, g_box in enumerate(grids, start=1):
            out.append(
                RegionSeed(
                    f"{code}{j:03d}",
                    Tier.GRID,
                    code,
                    f"{name_zh}第{j}网格",
                    f"{name_en} Grid {j}",
                    g_box,
                )
            )
    return out
