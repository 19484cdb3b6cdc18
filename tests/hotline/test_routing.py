"""Routing ranks partners by coverage, services, language, capacity and distance, and says why."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from casebridge.hotline import routing
from casebridge.network.models import Coverage
from tests.builders import STATE_CAPITALS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    routing.invalidate_index()
    with translation.override("en"):
        yield


@pytest.mark.parametrize(("state", "postcode"), sorted(STATE_CAPITALS.items()))
def test_the_first_suggestion_covers_the_callers_state(state, postcode):
    place, suggestions = routing.suggest_for_postcode(postcode)
    first = suggestions[0]
    covered = set(
        Coverage.objects.filter(organisation_id=first.organisation_id).values_list(
            "region__code", flat=True
        )
    )
    assert state in covered, (state, first.name)
    assert first.match_level == routing.MATCH_LEVEL["state"]
    assert first.reasons[0].startswith("covers ")
    assert place.state.code == state


def test_reasons_explain_every_factor():
    _place, suggestions = routing.suggest_for_postcode(
        "20095", services=["family_counselling"], language="tr"
    )
    reasons = " | ".join(suggestions[0].reasons)
    assert "covers Hamburg" in reasons
    assert "offers every service needed" in reasons
    assert "counsels in Turkish" in reasons
    assert "places free this month" in reasons
    assert " km away" in reasons


def test_missing_service_and_language_rank_lower_and_are_named():
    _place, suggestions = routing.suggest_for_postcode(
        "10115", services=["prison_work", "returnees_families"], language="ku", limit=50
    )
    keys = [s.sort_key() for s in suggestions]
    assert keys == sorted(keys)
    lacking = [s for s in suggestions if s.missing_services]
    assert lacking
    assert any(r.startswith("does not offer: ") for r in lacking[0].reasons)
    no_language = [s for s in suggestions if not s.language_ok]
    assert any("does not counsel in Kurdish" in r for r in no_language[0].reasons)


def test_open_referrals_use_capacity(make_contact, personas):
    _place, before = routing.suggest_for_postcode("20095")
    first = before[0]
    from casebridge.network.models import Organisation

    make_contact(referral_to=Organisation.objects.get(pk=first.organisation_id))
    _place, after = routing.suggest_for_postcode("20095")
    same = next(s for s in after if s.organisation_id == first.organisation_id)
    assert same.free_capacity == first.free_capacity - 1


def test_the_hotline_itself_is_never_suggested():
    for postcode in STATE_CAPITALS.values():
        _place, suggestions = routing.suggest_for_postcode(postcode, limit=100)
        assert all("Bundesberatungsstelle" not in s.name for s in suggestions)


def test_route_command_prints_the_ranking_with_reasons():
    out = StringIO()
    call_command("route", "--postcode", "20095", "--service", "family_counselling", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "20095 → Germany › Hamburg"
    assert lines[1].startswith("1. ")
    assert lines[2].strip() == "covers Hamburg"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--postcode", "2009"], "is not a well-formed postcode"),
        (["--postcode", "00000"], 'Unknown postcode "00000"'),
        (["--postcode", "20095", "--service", "astrology"], "--service: unknown astrology"),
        (["--postcode", "20095", "--language", "xx"], "--language: unknown xx"),
    ],
)
def test_route_command_refuses_bad_input(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("route", *arguments, stdout=StringIO())
