"""What the screens load is pinned and local: the vendored files match the hashes recorded
in hub/web/static/vendor/VERSIONS.md, and the hub's own pages, scripts and styles name no
other host."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from hub.web.pages import WEB_ROOT as WEB


def test_vendored_files_match_their_recorded_hashes() -> None:
    table = (WEB / "vendor" / "VERSIONS.md").read_text()
    rows = re.findall(r"\| `([^`]+\.(?:js|css))` \|[^|]*\| `([0-9a-f]{64})` \|", table)
    assert rows, "VERSIONS.md lists no vendored file with its sha256"
    for name, digest in rows:
        data = (WEB / "vendor" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    listed = {name for name, _ in rows}
    on_disk = {
        str(p.relative_to(WEB / "vendor"))
        for p in (WEB / "vendor").rglob("*")
        if p.suffix in {".js", ".css"}
    }
    assert on_disk == listed, "every vendored script and style is recorded, and only those"
    for library in {Path(name).parts[0] for name in listed}:
        assert (WEB / "vendor" / library / "LICENSE").is_file(), library


def test_own_files_load_nothing_from_elsewhere() -> None:
    own = [p for p in WEB.rglob("*") if p.suffix in {".html", ".js", ".css"}]
    own = [p for p in own if "vendor" not in p.parts]
    assert len(own) >= 10
    for path in own:
        text = path.read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), path
        assert "@import" not in text and "@font-face" not in text, path


def test_every_import_and_asset_a_page_names_exists() -> None:
    for page in WEB.glob("*.html"):
        for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.read_text()):
            assert (WEB / ref.removeprefix("/static/")).is_file(), (page.name, ref)
    for script in (WEB / "js").glob("*.js"):
        for ref in re.findall(r'from "([^"]+)"', script.read_text()):
            target = (
                WEB / ref.removeprefix("/static/")
                if ref.startswith("/static/")
                else script.parent / ref
            )
            assert target.resolve().is_file(), (script.name, ref)
