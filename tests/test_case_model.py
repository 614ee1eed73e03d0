"""new_case builds the same Case as the model's constructor, only cheaper."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.cases import models
from hub.cases.machine import CaseState
from hub.cases.models import Case, new_case
from hub.enums import Priority, Source

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
REQUIRED: dict[str, Any] = {
    "title": "井盖缺失",
    "grid_id": 5,
    "community_id": 4,
    "township_id": 3,
    "county_id": 2,
    "city_id": 1,
    "source": Source.HOTLINE_12345,
    "state": CaseState.CLASSIFIED,
    "created_at": NOW,
    "updated_at": NOW,
    "created_by": 7,
}


def test_it_equals_the_constructor_with_and_without_optional_fields() -> None:
    extras: list[dict[str, Any]] = [{}, {"priority": Priority.URGENT, "idempotency_key": "k"}]
    for extra in extras:
        made, built = new_case(**REQUIRED, **extra), Case(**REQUIRED, **extra)
        assert made.model_dump() == built.model_dump()
        assert made.model_fields_set == built.model_fields_set


def test_fields_set_later_go_through_the_model_and_defaults_are_not_shared() -> None:
    one, two = new_case(**REQUIRED), new_case(**REQUIRED)
    one.department_id = 9
    one.cooperating_department_ids.append(3)
    assert one.department_id == 9 and one.model_dump()["department_id"] == 9
    assert two.cooperating_department_ids == [] and two.department_id is None


def test_unknown_or_missing_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="not fields of Case"):
        new_case(**REQUIRED, colour="red")
    partial = {k: v for k, v in REQUIRED.items() if k != "grid_id"}
    with pytest.raises(TypeError, match="grid_id"):
        new_case(**partial)


def test_the_fast_path_is_taken_on_the_pinned_versions() -> None:
    # Fails when an SQLAlchemy or pydantic upgrade changes what `_assembled` relies on:
    # cases are then built the ordinary way (correct, slower), and this says so.
    assert models.FAST_NEW_CASE


def test_the_fallback_builds_the_same_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "FAST_NEW_CASE", False)
    made, built = (
        new_case(**REQUIRED, priority=Priority.URGENT),
        models._assembled({**REQUIRED, "priority": Priority.URGENT}),
    )
    assert type(made) is Case
    assert made.model_dump() == built.model_dump()
    assert made.model_fields_set == built.model_fields_set
    with pytest.raises(TypeError, match="not fields of Case"):
        new_case(**REQUIRED, colour="red")
