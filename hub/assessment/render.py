"""A report (reports.report's dict) as an XLSX workbook and as CSV.

The workbook has one sheet per section with Chinese (or English) headers, a frozen
header row, numbers as numbers (rates as percentages, formatted, not text) and column
widths that fit; openpyxl writes it (a maintained library: hand-writing OOXML would be
worse at exactly the formatting people look at). The CSV holds the same sections one
after the other, each headed by its title, for tools that read only CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from hub.clock import SHANGHAI

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT = "0.0%"
_HEAD_FONT = Font(bold=True, color="FFFFFF")
_HEAD_FILL = PatternFill("solid", fgColor="1F4E79")
_TITLE_FONT = Font(bold=True, size=14)

Row = list[Any]
# (title zh, title en, headers zh, headers en, rows, the columns holding rates)
Section = tuple[str, str, list[str], list[str], list[Row], set[int]]
Item = dict[str, Any]
Get = Callable[[Item, str], Any]  # a cell from a section's item, in a language


def _n(name: dict[str, str] | None, lang: str) -> str:
    if not name:
        return ""
    return name.get(lang) or name.get("zh", "")


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _key(name: str) -> Get:
    return lambda item, _lang: item[name]


def _name(name: str) -> Get:
    return lambda item, lang: _n(item[name], lang)


def _time(name: str) -> Get:
    return lambda item, _lang: _local(item[name])


@dataclass(frozen=True)
class Column:
    zh: str
    en: str
    get: Get
    rate: bool = False  # a share, shown as a percentage


@dataclass(frozen=True)
class Sheet:
    zh: str
    en: str
    items: Callable[[dict[str, Any]], list[Item]]
    columns: tuple[Column, ...]


def _section(name: str) -> Callable[[dict[str, Any]], list[Item]]:
    return lambda report: list(report[name])


def _volume(report: dict[str, Any]) -> list[Item]:
    vol = report["volume"]
    return [
        {"item": k, "current": v, "previous": vol["previous"][k]} for k, v in vol["current"].items()
    ]


def _escalations(report: dict[str, Any]) -> list[Item]:
    esc = report["escalations"]
    return [
        {"kind": kind, "item": k, "count": v}
        for kind in ("cases_by_action", "by_rung", "whistles_raised_to")
        for k, v in esc[kind].items()
    ]


C = Column
_CODE = C("编码", "Code", lambda i, _l: i["code"] or "")
# Every sheet of the daily briefing; the weekly and monthly reports add `_PERIODIC`.
_DAILY = (
    Sheet(
        "指标汇总",
        "Indicators",
        _section("summary"),
        (
            C("指标", "Indicator", _name("label")),
            C("分子", "Numerator", _key("numerator")),
            C("分母", "Denominator", _key("denominator")),
            C("本期", "This period", _key("value"), rate=True),
            C("上期", "Previous", _key("previous"), rate=True),
        ),
    ),
    Sheet(
        "案件量",
        "Volume",
        _volume,
        (
            C("项目", "Item", _key("item")),
            C("本期", "This period", _key("current")),
            C("上期", "Previous", _key("previous")),
        ),
    ),
    Sheet(
        "热点类别",
        "Hot categories",
        _section("categories"),
        (
            _CODE,
            C("类别", "Category", _name("name")),
            C("本期", "This period", _key("count")),
            C("上期", "Previous", _key("previous")),
        ),
    ),
    Sheet(
        "超期案件",
        "Overdue cases",
        _section("overdue"),
        (
            C("案件编号", "Case", _key("case_id")),
            C("标题", "Title", _key("title")),
            C("状态", "State", _key("state")),
            C("街乡", "Township", _name("township")),
            C("部门", "Department", _name("department")),
            C("应办结时间", "Due", _time("due_at")),
            C("办结时间", "Resolved", _time("resolved_at")),
            C("超期（小时）", "Late (h)", _key("late_h")),
        ),
    ),
    Sheet(
        "超期升级",
        "Escalations",
        _escalations,
        (
            C("类型", "Kind", _key("kind")),
            C("项目", "Item", _key("item")),
            C("数量", "Count", _key("count")),
        ),
    ),
)
_RANK = (C("名次", "Rank", _key("rank")),)
_CHANGE = (
    C("得分", "Score", _key("score")),
    C("上期名次", "Previous rank", _key("previous_rank")),
    C("上期得分", "Previous score", _key("previous_score")),
    C("变化", "Change", _key("change")),
)
_PERIODIC = (
    Sheet(
        "部门排名",
        "Department ranking",
        _section("departments"),
        (
            *_RANK,
            C("部门", "Department", _name("name")),
            C("类型", "Kind", _key("kind")),
            *_CHANGE,
            C("方案版本", "Scheme version", _key("scheme_version")),
        ),
    ),
    Sheet(
        "街乡排名",
        "Township ranking",
        _section("regions"),
        (*_RANK, C("地区", "Region", _name("name")), *_CHANGE),
    ),
    Sheet(
        "每日趋势",
        "Daily trend",
        _section("trend"),
        (
            C("日期", "Day", _key("day")),
            C("新增", "Created", _key("created")),
            C("结案", "Closed", _key("closed")),
            C("应结案", "Due", _key("due")),
            C("按期处置", "Resolved on time", _key("on_time")),
        ),
    ),
    Sheet(
        "热点网格",
        "Hot grids",
        _section("grids"),
        (_CODE, C("网格", "Grid", _name("name")), C("案件数", "Cases", _key("count"))),
    ),
    Sheet(
        "重复问题",
        "Repeat problems",
        _section("repeats"),
        (
            _CODE,
            C("网格", "Grid", _name("name")),
            C("类别编码", "Category", _key("category_code")),
            C("次数", "Times", _key("count")),
            C("案件编号", "Cases", lambda i, _l: " ".join(str(n) for n in i["case_ids"])),
        ),
    ),
    Sheet(
        "待评价吹哨",
        "Unassessed whistles",
        _section("unassessed"),
        (
            C("案件编号", "Case", _key("case_id")),
            C("标题", "Title", _key("title")),
            C("街乡", "Township", _name("township")),
            C("哨级", "Level", _key("whistle_level")),
            C("结案时间", "Closed", _time("closed_at")),
            C("提醒领导时间", "Leader told", _time("flagged_at")),
        ),
    ),
)


def sections(report: dict[str, Any], lang: str) -> list[Section]:
    """The report's tables, in order: (titles, headers, rows, percentage columns)."""
    sheets = _DAILY + (_PERIODIC if "departments" in report else ())
    return [
        (
            sheet.zh,
            sheet.en,
            [c.zh for c in sheet.columns],
            [c.en for c in sheet.columns],
            [[c.get(item, lang) for c in sheet.columns] for item in sheet.items(report)],
            {i for i, c in enumerate(sheet.columns) if c.rate},
        )
        for sheet in sheets
    ]


def _title(report: dict[str, Any], lang: str) -> str:
    kinds = {
        "day": ("日报", "Daily briefing"),
        "week": ("周分析", "Weekly analysis"),
        "month": ("月汇总", "Monthly summary"),
    }
    zh, en = kinds.get(report["kind"], ("报表", "Report"))
    region = _n(report["region"]["name"], lang)
    label = report["period"]["label_zh" if lang == "zh" else "label_en"]
    return f"{region} {label} {zh if lang == 'zh' else en}"


def xlsx(report: dict[str, Any], lang: str = "zh") -> bytes:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title_zh, title_en, head_zh, head_en, rows, percent in sections(report, lang):
        ws = wb.create_sheet((title_zh if lang == "zh" else title_en)[:31])
        ws.append([_title(report, lang)])
        ws["A1"].font = _TITLE_FONT
        ws.append(head_zh if lang == "zh" else head_en)
        for cell in ws[2]:
            cell.font, cell.fill = _HEAD_FONT, _HEAD_FILL
            cell.alignment = Alignment(horizontal="center")
        for row in rows:
            ws.append(row)
        for r in ws.iter_rows(min_row=3):
            for i, cell in enumerate(r):
                if i in percent and isinstance(cell.value, int | float):
                    cell.number_format = PERCENT
        ws.freeze_panes = "A3"  # the title and the header row stay in view
        _fit(ws, len(head_zh))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fit(ws: Any, columns: int) -> None:
    for i in range(1, columns + 1):
        letter = get_column_letter(i)
        longest = max(
            (_width(c.value) for c in ws[letter][1:]),
            default=8,
        )
        ws.column_dimensions[letter].width = min(max(longest + 2, 8), 60)


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK is two columns wide


def csv_text(report: dict[str, Any], lang: str = "zh") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([_title(report, lang)])
    for title_zh, title_en, head_zh, head_en, rows, _percent in sections(report, lang):
        writer.writerow([])
        writer.writerow([title_zh if lang == "zh" else title_en])
        writer.writerow(head_zh if lang == "zh" else head_en)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


__all__ = ["XLSX", "csv_text", "sections", "xlsx"]
