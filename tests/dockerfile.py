"""Just enough of a Dockerfile reader for tests/test_package.py to run the image's build
steps on this machine, which has a Docker client but no engine."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field


@dataclass
class Copy:
    sources: list[str]
    dest: str
    from_stage: str | None


@dataclass
class Stage:
    base: str
    name: str | None
    workdir: str = "/"
    copies: list[Copy] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    healthcheck_options: dict[str, str] = field(default_factory=dict)


def _instructions(text: str) -> list[tuple[str, str]]:
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    out = []
    for line in joined:
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _exec_form(rest: str) -> list[str]:
    if not rest.startswith("["):
        raise ValueError(f"use the exec form (a JSON list), not the shell form: {rest}")
    words = json.loads(rest)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words)
    return words


def parse(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for keyword, rest in _instructions(text):
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
            continue
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage.workdir = rest
        elif keyword == "COPY":
            words = shlex.split(rest)
            flags = {w.split("=", 1)[0]: w.split("=", 1)[1] for w in words if w.startswith("--")}
            paths = [w for w in words if not w.startswith("--")]
            stage.copies.append(Copy(paths[:-1], paths[-1], flags.get("--from")))
        elif keyword == "RUN":
            stage.runs.append(rest)
        elif keyword == "ENV":
            for word in shlex.split(rest):
                key, _, value = word.partition("=")
                stage.env[key] = value
        elif keyword == "USER":
            stage.user = rest
        elif keyword == "CMD":
            stage.cmd = _exec_form(rest)
        elif keyword == "HEALTHCHECK":
            options, _, command = rest.partition(" CMD ")
            stage.healthcheck_options = dict(
                w.removeprefix("--").split("=", 1) for w in options.split()
            )
            stage.healthcheck = _exec_form(command.strip())
        elif keyword not in {"EXPOSE", "VOLUME", "LABEL", "ARG"}:
            raise ValueError(f"tests/dockerfile.py does not know {keyword}")
    return stages
