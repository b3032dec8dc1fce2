"""Do not disturb in the pure ring plan: every active device is left out while it holds (a
switched-off one keeps its own reason), it ends at its moment by itself, and the stored document
round-trips; a scheme stored before it existed reads and writes the same."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from pbx.kamailio.decide import whole_minute_schedules
from pbx.ringplan import InvalidSchemeError, Reason, Scheme, compute_plan
from tests.unit.test_ringplan import NOON, WEEKDAYS_ONLY, dev, scheme

BASE = scheme("all_at_once", dev("a", 1), dev("b", 2, active=False), dev("c", 3, kind="external"))


def test_while_it_holds_nothing_rings_and_then_everything_does_again():
    quiet = dataclasses.replace(BASE, do_not_disturb_until=NOON + timedelta(minutes=30))
    plan = compute_plan(quiet, WEEKDAYS_ONLY, NOON)
    assert plan.steps == ()
    assert [(e.device_id, e.reason) for e in plan.excluded] == [
        ("a", Reason.DO_NOT_DISTURB), ("b", Reason.INACTIVE), ("c", Reason.DO_NOT_DISTURB)]
    assert plan.to_dict()["caller_hears"] == 480
    at_the_end = compute_plan(quiet, WEEKDAYS_ONLY, NOON + timedelta(minutes=30))
    assert at_the_end.ringing_ids == ("a", "c")


def test_the_document_round_trips_and_an_old_one_has_no_key():
    quiet = dataclasses.replace(BASE, do_not_disturb_until=NOON + timedelta(minutes=30))
    data = quiet.to_dict()
    assert data["do_not_disturb_until"] == "2025-06-04T09:30:00+00:00"
    back = Scheme.from_dict(data)
    assert back.do_not_disturb_until == quiet.do_not_disturb_until and back.to_dict() == data
    assert "do_not_disturb_until" not in BASE.to_dict()
    assert Scheme.from_dict(BASE.to_dict()).do_not_disturb_until is None


@pytest.mark.parametrize("value", ["tomorrow", "2025-06-04T12:30:00", 1749030000])
def test_a_moment_without_a_zone_or_not_a_moment_is_refused(value):
    with pytest.raises(InvalidSchemeError, match="do_not_disturb_until"):
        Scheme.from_dict(dict(BASE.to_dict(), do_not_disturb_until=value))


def test_routing_keeps_a_plan_for_the_minute_only_when_the_end_is_a_whole_minute():
    assert whole_minute_schedules(dataclasses.replace(BASE, do_not_disturb_until=NOON + timedelta(minutes=5)))
    assert not whole_minute_schedules(dataclasses.replace(BASE, do_not_disturb_until=NOON + timedelta(seconds=5)))
