"""No code may read the machine's clock except hub/clock.py: a test on a frozen clock that
meets a real `datetime.now()` passes today and fails weeks later, on nobody's change.

Product code (hub/, workers/) has no exceptions. A test may read the real clock only where
it drives real processes that run on it, and says so with a `# wall-clock:` comment."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_MODULE = ROOT / "hub" / "clock.py"
# (module, attribute) pairs that read a clock; `from time import time` forms too.
READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("loop", "time"),
}
BARE = {"perf_counter", "monotonic", "time_ns", "monotonic_ns", "perf_counter_ns"}
# What a test may not mix with its frozen clock: readings of the date and time of day.
# (Elapsed-time reads bound a test's waits for real processes and never meet a date.)
BUSINESS = {
    "SystemClock()",  # a test holding the real clock reads the date through it
    "datetime.now()",
    "datetime.utcnow()",
    "datetime.today()",
    "date.today()",
    "time.time()",
}


def _reads(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    imported_bare: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            imported_bare |= {a.asname or a.name for a in node.names if a.name in BARE | {"time"}}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (name, func.attr) in READS:
                found.append((node.lineno, f"{name}.{func.attr}()"))
        elif isinstance(func, ast.Name) and func.id in imported_bare:
            found.append((node.lineno, f"{func.id}()"))
        elif isinstance(func, ast.Name) and func.id == "SystemClock":
            found.append((node.lineno, "SystemClock()"))  # the real clock, by another name
    return found


def _files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def test_product_code_reads_no_clock_but_through_hub_clock() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _files("hub", "workers")
        if path != CLOCK_MODULE and "migrations" not in path.parts
        for line, what in _reads(path)
        if what != "SystemClock()"  # wiring: the process's clock is made once, at startup
    ]
    assert offenders == [], "read the injected Clock (hub/clock.py) instead:\n" + "\n".join(
        offenders
    )


def test_tests_read_the_real_clock_only_where_they_say_why() -> None:
    offenders = []
    for path in _files("tests"):
        if "bench" in path.parts:  # benchmarks measure real time by design
            continue
        lines = path.read_text().splitlines()
        for line, what in _reads(path):
            if what in BUSINESS and "# wall-clock:" not in lines[line - 1]:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offenders == [], "use the world's FrozenClock (hub.clock.now()):\n" + "\n".join(
        offenders
    )


def test_the_checker_finds_every_form_of_clock_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time\nfrom datetime import date, datetime\nfrom time import perf_counter\n"
        "a = datetime.now()\nb = date.today()\nc = time.time()\nd = time.monotonic()\n"
        "e = perf_counter()\nf = loop.time()\ng = dt.datetime.utcnow()\nh = SystemClock().now()\n"
    )
    assert [line for line, _ in _reads(sample)] == [4, 5, 6, 7, 8, 9, 10, 11]
