"""The policy's two evaluators agree, always (DESIGN.md invariant 2), and explain themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from casebridge.access.policy import Action, decide, visible
from casebridge.accounts.models import Membership, Role, User
from casebridge.cooperation_models.models import Term
from casebridge.hotline.models import Contact, Referral
from casebridge.network.models import Organisation

ROLES = [r.value for r in Role]


def _term(kind, code):
    return Term.objects.get(kind=kind, code=code)


class PolicyAgreement(HypothesisTestCase):
    """Random memberships, contacts and referrals: decide() and visible() agree."""

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        memberships=st.lists(
            st.tuples(st.integers(0, 3), st.sampled_from(ROLES), st.booleans()), max_size=4
        ),
        contacts=st.lists(st.integers(0, 3), min_size=1, max_size=4),
        referrals=st.lists(
            st.tuples(
                st.integers(0, 3),
                st.integers(0, 3),
                st.sampled_from(["consent", "anonymous"]),
                st.sampled_from(["sent", "accepted", "declined", "withdrawn"]),
            ),
            max_size=5,
        ),
    )
    def test_decide_and_visible_agree(self, memberships, contacts, referrals):
        organisations = list(Organisation.objects.filter(active=True).order_by("pk")[:4])
        actor = User.objects.create_user(username=f"actor{User.objects.count()}")
        now = timezone.now()
        for org_index, role, expired in memberships:
            Membership.objects.get_or_create(
                user=actor,
                organisation=organisations[org_index],
                role=role,
                defaults={
                    "valid_from": now - timedelta(days=30),
                    "valid_until": now - timedelta(days=1) if expired else None,
                },
            )
        author = User.objects.create_user(username=f"author{User.objects.count()}")
        made = []
        for number, org_index in enumerate(contacts):
            made.append(
                Contact.objects.create(
                    reference=f"T-{User.objects.count()}-{number}",
                    organisation=organisations[org_index],
                    counsellor=author,
                    channel="phone",
                    started_at=now,
                    language=_term("language", "de"),
                    caller_category=_term("caller_category", "parents_relatives"),
                    contact_category=_term("contact_category", "general_information"),
                )
            )
        for contact_index, partner_index, mode, status in referrals:
            Referral.objects.create(
                contact=made[contact_index % len(made)],
                partner=organisations[partner_index],
                mode=mode,
                status=status,
                sent_by=author,
            )
        for model in (Contact, Referral):
            for action in Action:
                objects = list(model.objects.filter(pk__in=model.objects.values("pk")))
                allowed = {o.pk for o in objects if decide(actor, action, o)}
                listed = set(
                    visible(actor, model.objects.all(), action).values_list("pk", flat=True)
                )
                assert allowed == listed, (model.__name__, action)


@pytest.mark.django_db
def test_denial_explains_itself(personas):
    contact = Contact.objects.create(
        reference="HL-2026-00001",
        organisation=personas.hotline.memberships.get().organisation,
        counsellor=personas.hotline,
        channel="phone",
        started_at=timezone.now(),
        language=_term("language", "de"),
        caller_category=_term("caller_category", "parents_relatives"),
        contact_category=_term("contact_category", "general_information"),
    )
    decision = decide(personas.police, Action.VIEW, contact)
    assert not decision
    assert decision.reason == "denied: contact HL-2026-00001 belongs to the hotline that took it"
    assert decide(personas.hotline, Action.VIEW, contact)


@pytest.mark.django_db
def test_expired_membership_grants_nothing(personas):
    org = personas.prison_expired.memberships.get().organisation
    Membership.objects.create(
        user=personas.prison_expired,
        organisation=org,
        role=Role.COORDINATOR,
        valid_from=timezone.now() - timedelta(days=5),
        valid_until=timezone.now() - timedelta(days=1),
    )
    assert visible(personas.prison_expired, Contact.objects.all()).count() == 0


class CasePolicyAgreement(HypothesisTestCase):
    """Random cases, participants, scopes and entries: decide() and visible() agree."""

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        seats=st.lists(
            st.tuples(
                st.integers(0, 2),  # case
                st.integers(0, 3),  # organisation
                st.booleans(),  # actor is a named person
                st.booleans(),  # participation expired
                st.sets(st.integers(0, 6)),  # readable categories
                st.sets(st.integers(0, 6)),  # writable categories
                st.booleans(),  # lead role
            ),
            max_size=5,
        ),
        entries=st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 6), st.integers(0, 3)),
            min_size=1,
            max_size=8,
        ),
        roles=st.lists(st.sampled_from(ROLES), min_size=1, max_size=2),
        emergencies=st.lists(
            st.tuples(
                st.integers(0, 2),  # case
                st.integers(0, 3),  # organisation the access is opened from
                st.sampled_from(["running", "expired", "ended"]),
            ),
            max_size=2,
        ),
    )
    def test_decide_and_visible_agree_on_cases(self, seats, entries, roles, emergencies):
        from casebridge.cases.models import Case, ConferenceItem, Entry, Participant

        # Organisations of different sectors, so never_by_scope (security) is exercised.
        organisations = [
            Organisation.objects.filter(type__sector__code=code).order_by("pk").first()
            for code in ("counselling_ngo", "security", "justice", "child_welfare")
        ]
        categories = list(Term.objects.filter(kind="information_category").order_by("position"))
        case_roles = list(Term.objects.filter(kind="case_role").order_by("position"))
        lead_role = next(r for r in case_roles if r.attributes.get("lead"))
        other_role = next(r for r in case_roles if not r.attributes.get("lead"))
        number = User.objects.count()
        actor = User.objects.create_user(username=f"caseactor{number}")
        now = timezone.now()
        for organisation in organisations:
            for role in roles:
                Membership.objects.get_or_create(user=actor, organisation=organisation, role=role)
        author = User.objects.create_user(username=f"caseauthor{number}")
        cases = [
            Case.objects.create(number=f"T-{number}-{n}", owner=organisations[0], pseudonym="P")
            for n in range(3)
        ]
        for case_index, org_index, named, expired, read, write, lead in seats:
            participant = Participant.objects.create(
                case=cases[case_index],
                organisation=organisations[org_index],
                role=lead_role if lead else other_role,
                valid_from=now - timedelta(days=10),
                valid_until=now - timedelta(days=1) if expired else None,
            )
            if named:
                participant.members.add(actor)
            participant.read_categories.set([categories[i] for i in read])
            participant.write_categories.set([categories[i] for i in write])
        for case_index, category_index, org_index in entries:
            Entry.objects.create(
                case=cases[case_index],
                kind="note",
                category=categories[category_index],
                author=author,
                author_organisation=organisations[org_index],
                title="t",
            )
        from casebridge.sharing.models import EmergencyAccess

        for case_index, org_index, state in emergencies:
            EmergencyAccess.objects.create(
                case=cases[case_index],
                user=actor,
                organisation=organisations[org_index],
                reason="r",
                started_at=now - timedelta(hours=2),
                expires_at=now + timedelta(hours=-1 if state == "expired" else 1),
                ended_at=now - timedelta(minutes=5) if state == "ended" else None,
            )
        mine = Entry.objects.filter(case__in=cases)
        for action in (Action.VIEW, Action.CHANGE):
            allowed = {e.pk for e in mine if decide(actor, action, e)}
            listed = set(visible(actor, mine, action).values_list("pk", flat=True))
            assert allowed == listed, action
        assert not visible(
            actor, ConferenceItem.objects.filter(conference__case__in=cases)
        ).exists()
        for action in (Action.VIEW, Action.CHANGE, Action.VIEW_IDENTITY, Action.VIEW_METADATA):
            allowed = {c.pk for c in cases if decide(actor, action, c)}
            listed = set(
                visible(
                    actor, Case.objects.filter(pk__in=[c.pk for c in cases]), action
                ).values_list("pk", flat=True)
            )
            assert allowed == listed, action
        # Invariant 4 inside the policy: counselling never reaches the security sector by scope.
        security = organisations[1]
        for entry in mine.filter(category__code="counselling").exclude(
            author_organisation=security
        ):
            seat = (
                __import__("casebridge.access.policy", fromlist=["seats"])
                .seats(actor)
                .get(entry.case_id)
            )
            if seat is not None and seat.organisation_id == security.pk:
                assert not decide(actor, Action.VIEW, entry)
