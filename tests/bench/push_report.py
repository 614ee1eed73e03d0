"""The live-push benchmark's summary: the table rows (hub, baseline) and the targets."""

from __future__ import annotations

import argparse
from typing import Any

from tests.bench.push_stats import Result


def get(res: Result, *path: str) -> float | None:
    node: Any = res
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) else None


def rows(
    r: dict[str, Result], a: argparse.Namespace
) -> list[tuple[str, float | None, float | None]]:
    hub, bare, redis = r.get("hub", {}), r.get("bare", {}), r.get("hub-redis", {})
    out: list[tuple[str, float | None, float | None]] = []
    for label, src in (("memory bus", hub), ("Redis bus", redis)):
        if not src:
            continue
        for fig, key in (("create-to-screen", "create_to_screen"), ("task push", "task_push")):
            for q in ("p50", "p99", "max"):
                out.append(
                    (
                        f"mix, {label}: {fig} {q} ms",
                        get(src, "mix", key, f"{q}_ms"),
                        get(bare, "mix", key, f"{q}_ms"),
                    )
                )
        out.append(
            (f"mix, {label}: create request p99 ms", get(src, "mix", "request", "p99_ms"), None)
        )
    for q in ("p50", "p99", "max"):
        out.append(
            (
                f"broadcast {a.sockets:,} sockets: last socket {q} ms",
                get(hub, "broadcast", "last_of_n", f"{q}_ms"),
                get(bare, "broadcast", "last_of_n", f"{q}_ms"),
            )
        )
    out.append(
        (
            "connect + auth + subscribe 2,000 mix sockets, s",
            get(hub, "mix", "connect_s"),
            get(bare, "mix", "connect_s"),
        )
    )
    out.append(
        (
            f"connect + auth + subscribe {a.sockets:,} city sockets, s",
            get(hub, "broadcast", "connect_s"),
            get(bare, "broadcast", "connect_s"),
        )
    )
    peak = ("capacity", "peak")
    out.append(
        (
            "fan-out: delivered frames/s at saturation",
            get(hub, *peak, "delivered_frames_per_s"),
            get(bare, *peak, "delivered_frames_per_s"),
        )
    )
    out.append(
        (
            "fan-out: frames per server CPU-second",
            get(hub, *peak, "frames_per_server_cpu_s"),
            get(bare, *peak, "frames_per_server_cpu_s"),
        )
    )
    out.append(
        (
            "fan-out: server CPU cores at that step",
            get(hub, *peak, "server_cpu_cores"),
            get(bare, *peak, "server_cpu_cores"),
        )
    )
    out.append(
        (
            "fan-out: client CPU cores at that step",
            get(hub, *peak, "clients_cpu_cores"),
            get(bare, *peak, "clients_cpu_cores"),
        )
    )
    out.append(
        (
            "memory: RSS KiB per idle inbox socket",
            get(hub, "memory", "kib_per_socket"),
            get(bare, "memory", "kib_per_socket"),
        )
    )
    lost: dict[str, float] = {}
    for name, src in (("hub", hub), ("bare", bare), ("redis", redis)):
        lost[name] = sum(get(src, k, "lost") or 0 for k in ("mix", "broadcast", "capacity"))
    out.append(("lost event frames, all scenarios", lost["hub"] + lost["redis"], lost["bare"]))
    return out


def targets(r: dict[str, Result]) -> dict[str, bool | None]:
    hub, bare, redis = r.get("hub", {}), r.get("bare", {}), r.get("hub-redis", {})

    def at_most(x: float | None, limit: float | None) -> bool | None:
        return None if x is None or limit is None else x <= limit

    b99, cap = (
        get(bare, "broadcast", "last_of_n", "p99_ms"),
        get(bare, "capacity", "peak", "delivered_frames_per_s"),
    )
    hub_cap = get(hub, "capacity", "peak", "delivered_frames_per_s")
    return {
        "mix (memory bus): create-to-screen p99 <= 100 ms": at_most(
            get(hub, "mix", "create_to_screen", "p99_ms"), 100
        ),
        "mix (memory bus): task push p99 <= 100 ms": at_most(
            get(hub, "mix", "task_push", "p99_ms"), 100
        ),
        "mix (Redis bus): create-to-screen p99 <= 100 ms": at_most(
            get(redis, "mix", "create_to_screen", "p99_ms"), 100
        ),
        "mix (Redis bus): task push p99 <= 100 ms": at_most(
            get(redis, "mix", "task_push", "p99_ms"), 100
        ),
        "broadcast: last-socket p99 <= 1.5 x bare": at_most(
            get(hub, "broadcast", "last_of_n", "p99_ms"), b99 and 1.5 * b99
        ),
        "fan-out capacity >= 0.5 x bare": None
        if hub_cap is None or cap is None
        else hub_cap >= 0.5 * cap,
        "memory <= 64 KiB per idle socket": at_most(get(hub, "memory", "kib_per_socket"), 64),
    }
