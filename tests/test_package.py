"""The hub as the image installs it: the Dockerfile's own build steps run here (its COPY
lines copied, its RUN lines run with container paths mapped into a temporary directory),
then `hub migrate`, `hub demo`, the HEALTHCHECK and the CMD from that virtualenv, outside
the checkout, and every page and every file the pages load fetched over HTTP.

Dependencies come from a wheelhouse beside the test virtualenv (`<venv>/wheelhouse`),
pinned to the versions the test virtualenv has; it is filled from PyPI the first time and
used with no index afterwards."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tests import dockerfile
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "package-test-secret-that-is-long-enough-0123456789"
# Run on the image's final stage only: it makes the image's user, not one on this machine.
NOT_RUN_HERE = {"useradd --create-home --uid 10001 --user-group hub"}
# Container directories the test maps into its temporary file system.
CONTAINER_DIRS = ("/opt/hub", "/home/hub", "/src", "/wheels", "/usr/local/bin")
PAGE_PATHS = (
    "/login",
    "/wall",
    "/console",
    "/staff",
    "/reports",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
)
REF = re.compile(r"""(?:src|href)="([^"]+)"|from\s+"([^"]+)"|import\s*\(\s*"([^"]+)"\s*\)""")
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def _check(result: subprocess.CompletedProcess[str]) -> None:
    tail = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"{result.args}\n{tail}"


def _pins(path: Path) -> Path:
    """The test virtualenv's versions as pip constraints (pip and the build tools excepted)."""
    skip = {"whistle-hub", "pip", "setuptools", "wheel"}
    pins = sorted(
        f"{d.metadata['Name']}=={d.version}"
        for d in metadata.distributions()
        if d.metadata["Name"] and d.metadata["Name"].lower().replace("_", "-") not in skip
    )
    path.write_text("\n".join(pins) + "\n")
    return path


def _wheelhouse(constraints: Path) -> Path:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    house = Path(sys.prefix) / "wheelhouse"
    fill = [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
    fill += ["--wheel-dir", str(house), "-c", str(constraints), *wanted]
    offline = _run([*fill, "--no-index", "--find-links", str(house)], timeout=300)
    if offline.returncode != 0:  # first run, or a dependency changed: fetch from PyPI
        _check(_run(fill, timeout=600))
    return house


@dataclass
class Image:
    fs: Path  # the container's "/" mapped here
    final: dockerfile.Stage

    def path(self, container_path: str) -> Path:
        assert container_path.startswith(CONTAINER_DIRS), f"unmapped path {container_path}"
        return self.fs / container_path.lstrip("/")

    def map_value(self, value: str) -> str:
        for d in CONTAINER_DIRS:
            value = value.replace(d, str(self.fs) + d)
        return value

    def env(self, **extra: str) -> dict[str, str]:
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1"}
        for key, value in self.final.env.items():
            env[key] = self.map_value(value).replace("$PATH", env["PATH"])
        env["HOME"] = str(self.path("/home/hub"))
        return {**env, **extra}

    def run(self, cmd: list[str], env: dict[str, str], timeout_s: float = 120) -> str:
        cwd = self.path(self.final.workdir)
        result = _run(cmd, env=env, cwd=cwd, timeout=timeout_s)
        _check(result)
        return result.stdout


def _build(tmp: Path) -> Image:
    stages = dockerfile.parse((ROOT / "Dockerfile").read_text())
    assert len(stages) == 2, "a build stage and a final stage"
    build, final = stages
    fs = tmp / "fs"
    image = Image(fs=fs, final=final)
    constraints = _pins(tmp / "constraints.txt")
    step_env = {
        "PATH": f"{image.path('/usr/local/bin')}:{os.environ['PATH']}",
        "HOME": str(tmp / "build-home"),
        "PYTHON": sys.executable,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(_wheelhouse(constraints)),
        "PIP_CONSTRAINT": str(constraints),
    }
    for copy in build.copies:
        assert copy.from_stage is None
        dest = copy.dest if copy.dest.startswith("/") else f"{build.workdir}/{copy.dest}"
        target = image.path(dest.rstrip("/") or "/")
        for source in copy.sources:
            src = ROOT / source
            if src.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(src, target, ignore=ignore)
            else:
                into = target / src.name if copy.dest.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, into)
    for line in build.runs:
        words = [str(image.path(w)) if w.startswith("/") else w for w in shlex.split(line)]
        result = _run(words, env=step_env, cwd=image.path(build.workdir), timeout=300)
        _check(result)
    for copy in final.copies:
        # The virtualenv's scripts name their interpreter by path: the stages must agree.
        assert copy.from_stage == build.name and copy.sources == [copy.dest], copy
        assert image.path(copy.dest).is_dir()
    assert set(final.runs) == NOT_RUN_HERE, "a RUN line this test does not run"
    image.path("/home/hub").mkdir(parents=True, exist_ok=True)
    return image


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    return _build(tmp_path_factory.mktemp("image"))


def test_the_image_runs_as_a_numbered_non_root_user(image: Image) -> None:
    user = image.final.user or ""
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "USER must be a numeric, non-root uid"
    assert f"--uid {uid} " in next(iter(NOT_RUN_HERE))
    assert image.final.healthcheck == ["hub", "health"]
    assert image.final.cmd == ["hub", "serve"]
    assert image.final.env["HUB_MODE"] == "production"


def test_nothing_comes_from_the_checkout(image: Image) -> None:
    probe = (
        "import json, sys\n"
        "import hub.cli, hub.main, hub.migrate, hub.demo.load, hub.web.pages\n"
        "import workers.timers, workers.simulator\n"
        "files = {n: getattr(m, '__file__', None) or '' for n, m in list(sys.modules.items())}\n"
        "print(json.dumps({'files': files, 'path': sys.path,\n"
        "  'web': str(hub.web.pages.WEB_ROOT), 'migrations': str(hub.migrate.MIGRATIONS)}))\n"
    )
    python = str(image.path("/opt/hub/bin/python"))
    found = json.loads(image.run([python, "-c", probe], image.env(HUB_SECRET_KEY=SECRET)))
    venv = str(image.path("/opt/hub"))
    ours = {n: f for n, f in found["files"].items() if n.split(".")[0] in {"hub", "workers"}}
    assert len(ours) > 50
    assert all(f.startswith(venv) for f in ours.values() if f), ours
    assert found["web"].startswith(venv) and found["migrations"].startswith(venv)
    everything = [*found["files"].values(), *found["path"]]
    assert not [f for f in everything if f.startswith(str(ROOT))]
    assert shutil.which("hub", path=image.env()["PATH"]) == str(image.path("/opt/hub/bin/hub"))


def _get(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()


@pytest.fixture(scope="module")
def served(image: Image) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = image.env(HUB_SECRET_KEY=SECRET, HUB_HOST="127.0.0.1", HUB_PORT=str(port))
    image.run(["hub", "migrate"], env)
    out = image.run(["hub", "demo", "--cases", "30", "--history-cases", "30"], env, timeout_s=180)
    assert "admin" in out
    health = _run(image.final.healthcheck, env=env, timeout=30)
    assert health.returncode == 1, "the HEALTHCHECK fails while nothing listens"
    log_path = image.fs / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        image.final.cmd, env=env, cwd=image.path(image.final.workdir), stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _run(image.final.healthcheck, env=env, timeout=30).returncode != 0:
            assert proc.poll() is None, (image.fs / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "hub serve did not become healthy"
            time.sleep(0.3)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _login(base: str) -> str:
    body = urllib.parse.urlencode({"username": "admin", "password": "demo"}).encode()
    request = urllib.request.Request(f"{base}/api/v1/auth/token", data=body)
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["access_token"]
    return token


def test_every_page_and_everything_it_loads_answers(served: tuple[str, Path]) -> None:
    base, _ = served
    token = _login(base)
    status, _, body = _get(f"{base}/api/v1/screens/home", token)
    assert status == 200
    home = json.loads(body)["region"]
    assert home is not None, "the demo city was loaded"
    _, _, cases = _get(f"{base}/api/v1/cases?limit=5", token)
    assert json.loads(cases)["items"], "with its sample cases"

    pending = [*PAGE_PATHS, f"/wall/{home['code']}"]
    fetched: dict[str, str] = {}
    while pending:
        path = pending.pop()
        if path in fetched:
            continue
        status, kind, body = _get(base + path)
        assert status == 200, (path, status, body[:300])
        fetched[path] = kind
        # A vendored bundle imports nothing; its minified text only looks like it does.
        own = kind.startswith(("text/html", "text/javascript", "text/css"))
        if not own or path.startswith("/static/vendor/"):
            continue
        for groups in REF.findall(body.decode()):
            ref = next(g for g in groups if g)
            if ref.startswith(("data:", "#")):  # inline: nothing is fetched
                continue
            url = urllib.parse.urljoin(base + path, ref)
            assert url.startswith(base + "/"), f"{path} loads {ref} from elsewhere"
            pending.append(urllib.parse.urlsplit(url).path)
    scripts = [p for p in fetched if p.startswith("/static/") and p.endswith(".js")]
    assert len(scripts) >= 12 and any("echarts" in p for p in scripts)
    for path, kind in fetched.items():
        suffix = Path(path).suffix
        if path.startswith("/static/") and suffix in STATIC_TYPES:
            assert kind.startswith(STATIC_TYPES[suffix]), (path, kind)
    for path in ("/healthz", "/metrics", "/openapi.json"):
        assert _get(base + path)[0] == 200, path


def test_the_image_logs_json_lines_with_request_ids(served: tuple[str, Path]) -> None:
    base, log_path = served
    request = urllib.request.Request(f"{base}/healthz", headers={"X-Request-Id": "probe-00000001"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["X-Request-Id"] == "probe-00000001"
    deadline = time.monotonic() + 10
    while "probe-00000001" not in log_path.read_text():
        assert time.monotonic() < deadline, "no access line for the request"
        time.sleep(0.1)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, uvicorn's and Alembic's too
    mine = [e for e in entries if e.get("request_id") == "probe-00000001"]
    assert [(e["logger"], e["path"], e["status"]) for e in mine] == [
        ("hub.access", "/healthz", 200)
    ]
    assert any(e["logger"].startswith("uvicorn") for e in entries)
    assert any(e.get("banner") for e in entries), "the start banner as a log line"


def test_the_build_context_keeps_what_the_dockerfile_copies() -> None:
    # .dockerignore leaves everything out (`*`) and lets back in what is copied: a COPY
    # source not let back in would be missing from the image's build only.
    kept = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    assert "*" in (ROOT / ".dockerignore").read_text().splitlines()
    stages = dockerfile.parse((ROOT / "Dockerfile").read_text())
    sources = [s for stage in stages for c in stage.copies if not c.from_stage for s in c.sources]
    assert len(sources) >= 5
    for source in sources:
        assert any(source == k or source.startswith(f"{k}/") for k in kept), source
