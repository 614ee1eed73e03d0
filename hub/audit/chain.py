"""The hash chain over each case's timeline (吹哨全留痕). Pure: canonical bytes in, hex out.

Each event's hash covers its own content and the previous event's hash, so editing,
deleting, inserting or reordering any event breaks every later link. The encoding is
documented in docs/audit.md so an outside party can re-check it from the API."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(
    *,
    case_id: int,
    seq: int,
    type: str,
    actor_id: int | None,
    actor: str,
    at: datetime,
    payload: dict[str, Any],
    changes: dict[str, Any],
    prev_hash: str,
) -> bytes:
    body = {
        "case_id": case_id,
        "seq": seq,
        "type": type,
        "actor_id": actor_id,
        "actor": actor,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "payload": payload,
        "changes": changes,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Break:
    case_id: int
    seq: int
    reason: str


@dataclass(frozen=True)
class Link:
    case_id: int
    seq: int
    hash: str
    prev_hash: str
    recomputed: str


def check_case(links: list[Link], *, head: str | None, version: int) -> Break | None:
    """The first broken link of one case's chain (events in stored seq order), or None."""
    expected_prev = GENESIS
    for position, link in enumerate(links, start=1):
        if link.seq != position:
            return Break(
                link.case_id,
                position,
                f"expected event {position}, found "
                f"{link.seq}: an event was deleted, inserted or reordered",
            )
        if link.prev_hash != expected_prev:
            return Break(link.case_id, link.seq, "prev_hash does not match the previous event")
        if link.recomputed != link.hash:
            return Break(link.case_id, link.seq, "content does not match its hash (edited)")
        expected_prev = link.hash
    case_id = links[0].case_id if links else 0
    if len(links) != version:
        return Break(
            case_id,
            len(links),
            f"case is at version {version} but has "
            f"{len(links)} events: its newest events were removed or added",
        )
    if head != expected_prev:
        return Break(case_id, len(links), "the case's head hash is not its last event's")
    return None
