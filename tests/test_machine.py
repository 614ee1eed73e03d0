"""Every transition of the pure state machine, and every illegal one."""

from __future__ import annotations

import pytest

from hub.cases.machine import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    CaseState,
    IllegalTransition,
    allowed_actions,
    next_state,
)

S, A = CaseState, Action

EXPECTED = {
    (S.REPORTED, A.CLASSIFY): S.CLASSIFIED,
    (S.REPORTED, A.DISPATCH): S.DISPATCHED,
    (S.CLASSIFIED, A.DISPATCH): S.DISPATCHED,
    (S.RETURNED, A.DISPATCH): S.DISPATCHED,
    (S.AWAITING_CONFIRMATION, A.CONFIRM_WHISTLE): S.DISPATCHED,
    (S.DISPATCHED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.DISPATCHED, A.RETURN): S.RETURNED,
    (S.ACKNOWLEDGED, A.CHECK_IN): S.ON_SITE,
    (S.ACKNOWLEDGED, A.RETURN): S.RETURNED,
    (S.ON_SITE, A.RESOLVE): S.RESOLVED,
    (S.RESOLVED, A.VERIFY): S.VERIFIED,
    (S.RESOLVED, A.REJECT): S.ACKNOWLEDGED,
    (S.VERIFIED, A.CLOSE): S.CLOSED,
    (S.VERIFIED, A.EVALUATE): S.VERIFIED,
    (S.CLOSED, A.EVALUATE): S.CLOSED,
    (S.CLOSED, A.REOPEN): S.CLASSIFIED,
    (S.DISPATCHED, A.CANCEL): S.CANCELLED,
    (S.CLASSIFIED, A.MERGE): S.MERGED,
}

ALL_PAIRS = [(state, action) for state in CaseState for action in Action]


@pytest.mark.parametrize(("pair", "target"), EXPECTED.items())
def test_expected_transitions(pair: tuple[CaseState, Action], target: CaseState) -> None:
    assert next_state(*pair) is target


@pytest.mark.parametrize(("state", "action"), ALL_PAIRS)
def test_every_pair_is_either_allowed_or_refused(state: CaseState, action: Action) -> None:
    if action in TRANSITIONS[state]:
        assert next_state(state, action) in CaseState
        assert action in allowed_actions(state)
    else:
        with pytest.raises(IllegalTransition) as info:
            next_state(state, action)
        assert info.value.state is state
        assert info.value.allowed == allowed_actions(state)
        assert action not in info.value.allowed


def test_routed_actions_wait_for_the_leader_only_when_asked() -> None:
    for state, action in [
        (S.CLASSIFIED, A.DISPATCH),
        (S.DISPATCHED, A.ESCALATE),
        (S.ACKNOWLEDGED, A.TRANSFER),
    ]:
        assert next_state(state, action, needs_confirmation=True) is S.AWAITING_CONFIRMATION
        assert next_state(state, action, needs_confirmation=False) is S.DISPATCHED


def test_terminal_states_allow_nothing_but_closed_evaluation_follow_up_and_reopen() -> None:
    assert allowed_actions(S.MERGED) == []
    assert allowed_actions(S.CANCELLED) == []
    assert set(allowed_actions(S.CLOSED)) == {A.EVALUATE, A.FOLLOW_UP, A.REOPEN}
    assert OPEN_STATES.isdisjoint(TERMINAL_STATES)
    assert set(CaseState) == OPEN_STATES | TERMINAL_STATES


def test_every_state_is_reachable_from_reported() -> None:
    seen, frontier = {S.REPORTED}, [S.REPORTED]
    while frontier:
        state = frontier.pop()
        for action in TRANSITIONS[state]:
            for confirm in (False, True):
                target = next_state(state, action, needs_confirmation=confirm)
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
    assert seen == set(CaseState)
