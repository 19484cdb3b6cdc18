"""The policy's two evaluators agree, always (DESIGN.md invariant 2), and explain themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from casebridge.accounts.models import Membership, Role, User
from casebridge.cooperation_models.models import Term
from casebridge.hotline.models import Contact, Referral
from casebridge.network.models import Organisation
from casebridge.sharing.policy import Action, decide, visible

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
