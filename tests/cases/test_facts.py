"""Kept facts (roles, seats, second factor) never outlive a change they depend on.

The same user object is asked before and after each change, as one request would: no
test here drops anything by hand (casebridge.facts).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from casebridge import facts
from casebridge.access.policy import Action, decide, seat_for, seats, seats_in, visible
from casebridge.accounts.permissions import active_roles
from casebridge.accounts.two_factor import two_factor_state
from casebridge.cases.models import Entry, Participant
from casebridge.cooperation_models.models import Term
from casebridge.sharing.models import Disclosure
from tests.builders import category, whole_case_page

pytestmark = pytest.mark.django_db


def test_a_scope_change_shows_at_the_next_decision(personas, world):
    police = personas.police
    assert decide(police, Action.VIEW, world.coordination)
    Participant.objects.get(pk=world.police.pk).read_categories.set([])
    assert not decide(police, Action.VIEW, world.coordination)
    world.police.read_categories.set([category("case_coordination")])
    assert decide(police, Action.VIEW, world.coordination)


def test_one_seat_and_every_seat_both_follow_a_scope_change(personas, world):
    """The seat of one case (a case page) and the seats of all cases (a list) are kept
    apart; a change makes both be derived again, whichever was asked first."""
    police = personas.police
    coordination = category("case_coordination")
    assert coordination.pk in seat_for(police, world.case.pk).readable
    assert world.coordination in visible(police, Entry.objects.all(), case=world.case)
    world.police.read_categories.remove(coordination)
    assert coordination.pk not in seat_for(police, world.case.pk).readable
    assert world.coordination not in visible(police, Entry.objects.all(), case=world.case)
    assert coordination.pk not in seats(police)[world.case.pk].readable
    world.police.read_categories.add(coordination)
    assert coordination.pk in seat_for(police, world.case.pk).readable  # from every seat
    assert world.coordination in visible(police, Entry.objects.all())


def test_a_scope_change_shows_on_the_next_page(personas, world):
    client = personas.client(personas.police)
    assert "Fallkonferenz geplant" in whole_case_page(client, world.case.pk)
    world.police.read_categories.remove(category("case_coordination"))
    assert "Fallkonferenz geplant" not in whole_case_page(client, world.case.pk)


def test_seats_of_a_few_cases_agree_with_every_seat_and_follow_a_change(personas, world):
    """``seats_in`` (a list of a few cases) loads only those seats, gives the same seats
    as ``seats`` (every case) and ``seat_for`` (one), and follows a scope change."""
    police = personas.police
    other = Participant.objects.exclude(case=world.case).values_list("case_id", flat=True)
    wanted = {world.case.pk, *other[:3], 999_999}
    few = seats_in(police, wanted)
    assert set(few) == wanted & set(seats(police))
    facts.changed()
    assert seats_in(police, wanted) == {pk: seats(police)[pk] for pk in few}
    assert {pk: seat_for(police, pk) for pk in few} == few
    coordination = category("case_coordination")
    world.police.read_categories.remove(coordination)
    assert coordination.pk not in seats_in(police, wanted)[world.case.pk].readable
    assert seats_in(police, []) == {}


def test_an_ended_membership_ends_the_roles_at_once(personas):
    partner = personas.partner
    assert "partner_counsellor" in active_roles(partner)
    membership = partner.memberships.get()
    membership.valid_until = timezone.now()
    membership.save(update_fields=["valid_until"])
    assert active_roles(partner) == set()


def test_an_ended_participation_ends_the_seat(personas, world):
    police = personas.police
    assert world.case.pk in seats(police)
    world.police.valid_until = timezone.now()
    world.police.save(update_fields=["valid_until"])
    assert world.case.pk not in seats(police)


def test_an_approved_disclosure_reaches_the_recipients_seat(personas, world):
    police = personas.police
    assert not decide(police, Action.VIEW, world.counselling)
    disclosure = Disclosure.objects.create(
        case=world.case,
        from_participant=world.lead,
        to_participant=world.police,
        purpose="Gefahrenabwehr",
        legal_basis=Term.objects.filter(kind="legal_basis").first(),
        justification="akute Gefahr für Dritte",
        requested_by=personas.partner,
        status=Disclosure.Status.APPROVED,
    )
    disclosure.entries.add(world.counselling)
    assert decide(police, Action.VIEW, world.counselling)
    disclosure.entries.remove(world.counselling)
    assert not decide(police, Action.VIEW, world.counselling)


def test_an_authenticator_enrolled_shows_in_the_second_factor_state(personas):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = personas.partner
    assert two_factor_state(user)[1] is False
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert two_factor_state(user)[1] is True


def test_a_fact_is_derived_once_per_generation(personas):
    calls = []

    def derive():
        calls.append(1)
        return len(calls)

    user = personas.partner
    assert facts.fact(user, "probe", derive) == 1
    assert facts.fact(user, "probe", derive) == 1
    facts.changed()
    assert facts.fact(user, "probe", derive) == 2


def test_an_id_larger_than_a_database_column_names_no_seat(personas, world):
    """An address such as /cases/3272…856/ (found by the API fuzzer): no seat, no crash."""
    huge = 327264285684660165214846782701305856
    assert seat_for(personas.partner, huge) is None
    assert seats_in(personas.partner, {huge, world.case.pk}).keys() == {world.case.pk}
    client = personas.client(personas.partner)
    assert client.get(f"/cases/{huge}/").status_code == 404
    response = client.post(
        f"/api/v1/sop/cases/{huge}/disclosures", "{}", content_type="application/json"
    )
    assert response.status_code in (404, 422)


def test_a_category_id_follows_the_vocabulary_when_its_term_is_made_again(personas, world):
    """The id of an information category is kept in the process; a term made again (a
    database emptied and the model loaded anew, as between browser tests, or a category
    retired and re-created) gets a new id, and the policy must not use the old one (it
    showed as the lead no longer reading the case's coordination)."""
    from casebridge.access.policy import information_category_id

    kept = information_category_id("case_coordination")
    assert kept == category("case_coordination").pk
    old = Term.objects.get(kind="information_category", code="case_coordination")
    fresh = Term.objects.create(
        kind="information_category", code="case_coordination_new", labels=old.labels
    )
    Term.objects.filter(pk=old.pk).update(code="retired_coordination")  # past the signals
    Term.objects.filter(pk=fresh.pk).update(code="case_coordination")
    facts.changed()  # what a bulk writer (the model loader) calls after such an update
    assert information_category_id("case_coordination") == fresh.pk
