"""Postcodes resolve to exactly one federal state; `casebridge region` prints the path."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from casebridge.network.models import PostcodeArea, Region
from casebridge.network.selectors import PostcodeError, region_for_postcode
from tests.builders import STATE_CAPITALS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_every_shipped_postcode_resolves_to_exactly_one_state(germany_spec):
    regions = {entry.code: entry for entry in germany_spec.entries("regions")}
    states = Counter()
    for row in germany_spec.postcodes:
        chain, node = [], regions[row.region]
        while node is not None:
            chain.append(node)
            node = regions.get(node.parent) if node.parent else None
        state_nodes = [r for r in chain if r.level == "state"]
        assert len(state_nodes) == 1, row
        states[state_nodes[0].code] += 1
    assert len(germany_spec.postcodes) > 8000
    assert set(states) == set(STATE_CAPITALS)


def test_every_loaded_postcode_has_a_state_region():
    assert PostcodeArea.objects.count() > 8000
    levels = set(PostcodeArea.objects.values_list("region__level", flat=True))
    assert levels <= {"state", "district", "municipality"}


@pytest.mark.parametrize(("state", "postcode"), sorted(STATE_CAPITALS.items()))
def test_state_capitals_resolve(state, postcode):
    place = region_for_postcode(postcode)
    assert place.state.code == state
    assert place.path[0].code == "DE"


def test_region_command_prints_the_path(capsys):
    call_command("region", "20095")
    assert capsys.readouterr().out.startswith("20095 → ")
    out = _region_output("20095", "en")
    assert out.startswith("20095 → Germany › Hamburg")


def _region_output(postcode: str, language: str) -> str:
    from io import StringIO

    from django.utils import translation

    buffer = StringIO()
    with translation.override(language):
        call_command("region", postcode, stdout=buffer)
    return buffer.getvalue().strip()


def test_region_path_in_german():
    assert _region_output("80331", "de").startswith("80331 → Deutschland › Bayern")


@pytest.mark.parametrize("raw", ["2009", "ABCDE", "200950", "", "20 09"])
def test_malformed_postcode_is_refused(raw):
    with pytest.raises(PostcodeError) as caught:
        region_for_postcode(raw)
    assert caught.value.malformed


@pytest.mark.parametrize("raw", ["20 095", " 20095 ", "20095\t"])
def test_a_postcode_written_with_spaces_is_understood(raw):
    """Issue 18: people write "20 095"; it is the same postcode."""
    resolved = region_for_postcode(raw)
    assert resolved.postcode == "20095" and resolved.region == region_for_postcode("20095").region


def test_unknown_postcode_is_refused():
    with pytest.raises(PostcodeError) as caught:
        region_for_postcode("00000")
    assert not caught.value.malformed
    with pytest.raises(CommandError, match='Unknown postcode "00000"'):
        call_command("region", "00000")


def test_region_command_refuses_malformed_input():
    with pytest.raises(CommandError, match="is not a well-formed postcode"):
        call_command("region", "12ab")


def test_the_region_tree_has_sixteen_states():
    assert Region.objects.filter(level="state", parent__code="DE").count() == 16
