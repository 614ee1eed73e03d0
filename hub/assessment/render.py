"""A report (reports.report's dict) as an XLSX workbook and as CSV.

The workbook has one sheet per section with Chinese (or English) headers, a frozen
header row, numbers as numbers (rates as percentages, formatted, not text) and column
widths that fit; openpyxl writes it (a maintained library: hand-writing OOXML would be
worse at exactly the formatting people look at). The CSV holds the same sections one
after the other, each headed by its title, for tools that read only CSV."""

from __future__ import annotations

import csv
import io
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


def _n(name: dict[str, str] | None, lang: str) -> str:
    if not name:
        return ""
    return name.get(lang) or name.get("zh", "")


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def sections(report: dict[str, Any], lang: str) -> list[Section]:
    """The report's tables, in order: (titles, headers, rows, percentage columns)."""
    out: list[Section] = []
    summary = [
        [_n(s["label"], lang), s["numerator"], s["denominator"], s["value"], s["previous"]]
        for s in report["summary"]
    ]
    out.append(
        (
            "指标汇总",
            "Indicators",
            ["指标", "分子", "分母", "本期", "上期"],
            ["Indicator", "Numerator", "Denominator", "This period", "Previous"],
            summary,
            {3, 4},
        )
    )
    vol = report["volume"]
    out.append(
        (
            "案件量",
            "Volume",
            ["项目", "本期", "上期"],
            ["Item", "This period", "Previous"],
            [[k, vol["current"][k], vol["previous"][k]] for k in vol["current"]],
            set(),
        )
    )
    out.append(
        (
            "热点类别",
            "Hot categories",
            ["类别编码", "类别", "本期", "上期"],
            ["Code", "Category", "This period", "Previous"],
            [
                [c["code"] or "", _n(c["name"], lang), c["count"], c["previous"]]
                for c in report["categories"]
            ],
            set(),
        )
    )
    out.append(
        (
            "超期案件",
            "Overdue cases",
            ["案件编号", "标题", "状态", "街乡", "部门", "应办结时间", "超期（小时）"],
            ["Case", "Title", "State", "Township", "Department", "Due", "Late (h)"],
            [
                [
                    o["case_id"],
                    o["title"],
                    o["state"],
                    _n(o["township"], lang),
                    _n(o["department"], lang),
                    _local(o["due_at"]),
                    o["late_h"],
                ]
                for o in report["overdue"]
            ],
            set(),
        )
    )
    esc = report["escalations"]
    out.append(
        (
            "超期升级",
            "Escalations",
            ["类型", "项目", "数量"],
            ["Kind", "Item", "Count"],
            [["cases_by_action", k, v] for k, v in esc["cases_by_action"].items()]
            + [["by_rung", k, v] for k, v in esc["by_rung"].items()]
            + [["whistles_raised_to", k, v] for k, v in esc["whistles_raised_to"].items()],
            set(),
        )
    )
    if "departments" not in report:
        return out
    out.append(
        (
            "部门排名",
            "Department ranking",
            ["名次", "部门", "类型", "得分", "上期名次", "上期得分", "变化", "方案版本"],
            [
                "Rank",
                "Department",
                "Kind",
                "Score",
                "Previous rank",
                "Previous score",
                "Change",
                "Scheme version",
            ],
            [
                [
                    d["rank"],
                    _n(d["name"], lang),
                    d["kind"],
                    d["score"],
                    d["previous_rank"],
                    d["previous_score"],
                    d["change"],
                    d["scheme_version"],
                ]
                for d in report["departments"]
            ],
            set(),
        )
    )
    out.append(
        (
            "街乡排名",
            "Township ranking",
            ["名次", "地区", "得分", "上期名次", "上期得分", "变化"],
            ["Rank", "Region", "Score", "Previous rank", "Previous score", "Change"],
            [
                [
                    r["rank"],
                    _n(r["name"], lang),
                    r["score"],
                    r["previous_rank"],
                    r["previous_score"],
                    r["change"],
                ]
                for r in report["regions"]
            ],
            set(),
        )
    )
    out.append(
        (
            "每日趋势",
            "Daily trend",
            ["日期", "新增", "结案", "应结案", "按期处置"],
            ["Day", "Created", "Closed", "Due", "Resolved on time"],
            [
                [t["day"], t["created"], t["closed"], t["due"], t["on_time"]]
                for t in report["trend"]
            ],
            set(),
        )
    )
    out.append(
        (
            "热点网格",
            "Hot grids",
            ["网格编码", "网格", "案件数"],
            ["Grid code", "Grid", "Cases"],
            [[g["code"] or "", _n(g["name"], lang), g["count"]] for g in report["grids"]],
            set(),
        )
    )
    out.append(
        (
            "重复问题",
            "Repeat problems",
            ["网格编码", "网格", "类别编码", "次数", "案件编号"],
            ["Grid code", "Grid", "Category", "Times", "Cases"],
            [
                [
                    r["code"] or "",
                    _n(r["name"], lang),
                    r["category_code"],
                    r["count"],
                    " ".join(str(i) for i in r["case_ids"]),
                ]
                for r in report["repeats"]
            ],
            set(),
        )
    )
    out.append(
        (
            "待评价吹哨",
            "Unassessed whistles",
            ["案件编号", "标题", "街乡", "哨级", "结案时间"],
            ["Case", "Title", "Township", "Level", "Closed"],
            [
                [
                    u["case_id"],
                    u["title"],
                    _n(u["township"], lang),
                    u["whistle_level"],
                    _local(u["closed_at"]),
                ]
                for u in report["unassessed"]
            ],
            set(),
        )
    )
    return out


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
