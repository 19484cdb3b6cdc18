"""DESIGN.md invariant 4 as a property: after any sequence of actions by any personas, every
item readable by an organisation other than its author's is covered by that organisation's
scope or by an approved disclosure to it — checked from the database, not the policy."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from casebridge.access.policy import Action, decide
from casebridge.access.protocol import recipient_candidates
from casebridge.accounts.permissions import roles_by_organisation
from casebridge.cases import services as case_services
from casebridge.cases.models import Case, Entry, Participant, Transfer
from casebridge.cooperation_models.models import Term
from casebridge.network.models import Organisation, Region
from casebridge.sharing import services
from casebridge.sharing.models import ContactDisclosure, Disclosure, InformationRequest
from tests.builders import build_personas, make_contact

CATEGORIES = [
    "case_coordination",
    "identity",
    "counselling",
    "risk_assessment",
    "security",
    "justice",
    "child_welfare",
    "health",
]
DANGERS = ["danger_to_others", "danger_to_self", "child_at_risk"]
ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("entry"),
            st.sampled_from(["partner", "police", "receiver"]),
            st.sampled_from(CATEGORIES),
        ),
        st.tuples(st.just("scope"), st.sets(st.sampled_from(CATEGORIES), max_size=4)),
        st.tuples(st.just("disclose"), st.integers(0, 30), st.booleans()),
        st.tuples(st.just("consent_disclose"), st.integers(0, 30)),
        # requests for information, both ways: asked, refused, answered by a disclosure
        st.tuples(
            st.just("ask"),
            st.sampled_from(["partner", "police"]),
            st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=3),
        ),
        st.tuples(st.just("refuse"), st.integers(0, 30)),
        st.tuples(st.just("answer"), st.integers(0, 30), st.integers(0, 30), st.booleans()),
        # the hotline's path: a danger in a call (Hamburg or Berlin), prepared by a
        # counsellor or the coordinator, sent or sent back by either, or given up
        st.tuples(st.just("danger"), st.sampled_from(DANGERS), st.sampled_from(["20095", "10117"])),
        st.tuples(st.just("hotline_prepare"), st.integers(0, 30), st.booleans()),
        st.tuples(st.just("hotline_decide"), st.integers(0, 30), st.booleans(), st.booleans()),
        st.tuples(st.just("hotline_cancel"), st.integers(0, 30)),
        # a transfer to another counselling organisation, answered (or not) by it or
        # withdrawn by the lead; then the sender's handover seat may run out
        st.tuples(
            st.just("transfer"),
            st.sampled_from(["accept", "decline", "withdraw", "leave_open"]),
            st.integers(1, 30),
        ),
        st.tuples(st.just("handover_ends")),
        # an outside professional invited by the lead (a psychotherapist, or a second
        # police officer into the police's participation), who then writes health data
        st.tuples(st.just("invite"), st.sampled_from(["therapy", "police"]), st.booleans()),
    ),
    max_size=12,
)


def _term(kind, code):
    return Term.objects.get(kind=kind, code=code)


class InformationFlows(HypothesisTestCase):
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(actions=ACTIONS)
    def test_every_foreign_read_is_covered_by_scope_or_disclosure(self, actions):
        from tests.builders import make_user

        people = build_personas()  # each example runs in its own rolled-back transaction
        partner, police, receiver = people.partner, people.police, people.partner_other
        case = case_services.case_open(
            actor=partner, owner=partner.memberships.get().organisation, pseudonym="P"
        )
        lead = case.participants.get()
        liaison = case_services.participant_add(
            actor=partner,
            case=case,
            organisation=police.memberships.get().organisation,
            role=_term("case_role", "police_liaison"),
            members=[police],
        )
        approver = make_user(f"approver{case.pk}", lead.organisation, "partner_counsellor")
        lead.members.add(approver)
        entries: list[Entry] = []
        asked: list = []
        dangers: list = []
        guests: list = []
        sides = {"partner": (partner, lead, liaison), "police": (police, liaison, lead)}
        for action in actions:
            kind = action[0]
            try:
                if kind == "entry":
                    author = {"partner": partner, "police": police, "receiver": receiver}[action[1]]
                    entries.append(
                        case_services.entry_create(
                            actor=author,
                            case=case,
                            data=case_services.EntryData(
                                kind="note",
                                category=_term("information_category", action[2]),
                                title="t",
                            ),
                        )
                    )
                elif kind == "scope":
                    codes = sorted(action[1] | {"case_coordination"})
                    case_services.participant_scope(
                        actor=partner,
                        participant=liaison,
                        read=[_term("information_category", c) for c in codes],
                        write=[],
                        reason="r",
                    )
                elif kind == "disclose" and entries:
                    entry = entries[action[1] % len(entries)]
                    disclosure = services.disclosure_request(
                        actor=partner,
                        case=case,
                        to_participant=liaison,
                        entries=[entry],
                        purpose="p",
                        legal_basis=_term("legal_basis", "justifying_emergency"),
                        justification="j",
                    )
                    if action[2]:
                        services.disclosure_decide(
                            actor=approver, disclosure=disclosure, approve=True
                        )
                elif kind == "consent_disclose" and entries:
                    entry = entries[action[1] % len(entries)]
                    consent = services.consent_record(
                        actor=partner,
                        case=case,
                        given_by="person",
                        purpose="p",
                        categories=[entry.category],
                        recipients=[liaison],
                    )
                    services.disclosure_request(
                        actor=partner,
                        case=case,
                        to_participant=liaison,
                        entries=[entry],
                        purpose="p",
                        legal_basis=_term("legal_basis", "consent_gdpr"),
                        consent=consent,
                    )
                elif kind == "ask":
                    person, _own, other = sides[action[1]]
                    asked.append(
                        services.information_request_create(
                            actor=person,
                            case=case,
                            to_participant=other,
                            categories=[_term("information_category", c) for c in action[2]],
                            question="q",
                            purpose="p",
                            legal_basis=_term("legal_basis", "danger_prevention_bdsg"),
                            due_on=timezone.localdate() + timedelta(days=3),
                        )
                    )
                elif kind == "refuse" and asked:
                    request = asked[action[1] % len(asked)]
                    person = partner if request.to_participant_id == lead.pk else police
                    services.information_request_refuse(
                        actor=person, info_request=request, reason="r"
                    )
                elif kind == "answer" and asked and entries:
                    request = asked[action[1] % len(asked)]
                    request.refresh_from_db()
                    person = partner if request.to_participant_id == lead.pk else police
                    disclosure = services.disclosure_request(
                        actor=person,
                        case=case,
                        to_participant=liaison if person == partner else lead,
                        entries=[entries[action[2] % len(entries)]],
                        purpose="p",
                        legal_basis=_term("legal_basis", "justifying_emergency"),
                        justification="j",
                        answers=request,
                    )
                    if action[3] and person == partner:
                        services.disclosure_decide(
                            actor=approver, disclosure=disclosure, approve=True
                        )
                elif kind == "danger":
                    contact = make_contact(
                        people, caller_postcode=action[2], first_analysis={action[1]: "yes"}
                    )
                    dangers += list(ContactDisclosure.objects.filter(contact=contact))
                elif kind == "hotline_prepare" and dangers:
                    item = dangers[action[1] % len(dangers)]
                    item.refresh_from_db()
                    by, second = (
                        (people.hotline, people.coordinator)
                        if action[2]
                        else (people.coordinator, people.hotline)
                    )
                    services.contact_disclosure_prepare(
                        actor=by,
                        disclosure=item,
                        recipient=item.recipient or recipient_candidates(item)[0],
                        excerpt="e",
                        purpose="p",
                        legal_basis=item.legal_basis,
                        justification="j",
                        approver=second,
                    )
                elif kind == "hotline_decide" and dangers:
                    item = dangers[action[1] % len(dangers)]
                    item.refresh_from_db()
                    services.contact_disclosure_decide(
                        actor=people.hotline if action[2] else people.coordinator,
                        disclosure=item,
                        approve=action[3],
                        note="n",
                    )
                elif kind == "hotline_cancel" and dangers:
                    item = dangers[action[1] % len(dangers)]
                    item.refresh_from_db()
                    services.contact_disclosure_cancel(
                        actor=people.hotline, disclosure=item, reason="r"
                    )
                elif kind == "transfer":
                    transfer = case_services.transfer_propose(
                        actor=partner,
                        case=case,
                        to_organisation=receiver.memberships.get().organisation,
                        region=Region.objects.get(code="DE-BE"),
                        reason="r",
                        consent_note="c",
                        handover_days=action[2],
                    )
                    if action[1] == "accept":
                        case_services.transfer_accept(
                            actor=receiver, transfer=transfer, lead_worker=receiver
                        )
                    elif action[1] == "decline":
                        case_services.transfer_decline(
                            actor=receiver, transfer=transfer, reason="r"
                        )
                    elif action[1] == "withdraw":
                        case_services.transfer_withdraw(actor=partner, transfer=transfer)
                elif kind == "invite":
                    organisation = (
                        Organisation.objects.get(code="psychotherapie-lindenhof-bremen")
                        if action[1] == "therapy"
                        else police.memberships.get().organisation
                    )
                    mail.outbox.clear()
                    with self.captureOnCommitCallbacks(execute=True):
                        case_services.invitation_create(
                            actor=partner,
                            case=case,
                            organisation=organisation,
                            role=_term("case_role", "health_care"),
                            name="Dr. G",
                            email=f"g{len(guests)}@example.org",
                            until=timezone.localdate() + timedelta(days=30),
                            link="https://x/invitation/",
                        )
                    token = mail.outbox[-1].body.split("https://x/invitation/")[1].split("/")[0]
                    guest = case_services.invitation_accept(
                        token=token,
                        username=f"guest{case.pk}_{len(guests)}",
                        password="Lang-genug-2026!",
                    )
                    guests.append(guest)
                    if action[2]:
                        entries.append(
                            case_services.entry_create(
                                actor=guest,
                                case=case,
                                data=case_services.EntryData(
                                    kind="note",
                                    category=_term("information_category", "health"),
                                    title="t",
                                ),
                            )
                        )
                elif kind == "handover_ends":
                    for seat in Participant.objects.filter(
                        case=case, valid_until__gt=timezone.now()
                    ):
                        seat.valid_until = max(timezone.now(), seat.valid_from + timedelta(1e-6))
                        seat.save(update_fields=["valid_until"])
            except Exception as exc:  # refused actions change nothing; that is allowed
                if type(exc).__name__ not in ("ValidationError", "PermissionDenied"):
                    raise
        for participant in (
            Participant.objects.active()
            .filter(case=case)
            .prefetch_related("members", "read_categories")
        ):
            never = set(participant.organisation.type.sector.never_by_scope)
            scope = {t.code for t in participant.read_categories.all()} - never
            disclosed = set(
                Disclosure.objects.filter(
                    to_participant=participant, status="approved"
                ).values_list("entries", flat=True)
            )
            for member in participant.members.all():
                for entry in Entry.objects.filter(case=case).select_related("category"):
                    if entry.author_organisation_id == participant.organisation_id:
                        continue
                    if decide(member, Action.VIEW, entry):
                        # a request, refused or answered, opens nothing by itself
                        assert entry.category.code in scope or entry.pk in disclosed, (
                            participant.role.code,
                            entry.category.code,
                        )
                        assert not (
                            participant.organisation.type.sector.code == "security"
                            and entry.category.code == "counselling"
                            and entry.pk not in disclosed
                        )
        # A guest reads this case only, and never the health data in the police's seat
        for guest in guests:
            for other in Entry.objects.exclude(case=case):
                assert not decide(guest, Action.VIEW, other)
        for entry_ in Entry.objects.filter(case=case, category__code="health"):
            assert (
                not decide(police, Action.VIEW, entry_)
                or Disclosure.objects.filter(
                    to_participant=liaison, status="approved", entries=entry_
                ).exists()
            )
        # The receiving organisation reads nothing of the case until it accepted a
        # transfer; then it owns and leads the case.
        accepted = Transfer.objects.filter(case=case, status="accepted").exists()
        receiving = receiver.memberships.get().organisation
        assert (Case.objects.get(pk=case.pk).owner == receiving) == accepted
        if not accepted:
            for entry in Entry.objects.filter(case=case):
                assert not decide(receiver, Action.VIEW, entry)
        # A request is answered exactly when an approved disclosure answers it (one withdrawn
        # while its answer waited for approval stays withdrawn); never refused and answered.
        for request in InformationRequest.objects.filter(case=case):
            approved = request.disclosures.filter(status="approved").exists()
            assert (request.status == "answered") <= approved, request.status
            assert approved <= (request.status in ("answered", "withdrawn")), request.status
        # The hotline: a disclosure reaches an organisation only once sent, only its
        # recipient, and only after a second person who did not prepare it decided.
        everyone = [
            people.hotline,
            people.coordinator,
            partner,
            police,
            people.partner_other,
            people.dpo,
            people.outsider,
        ]
        for item in ContactDisclosure.objects.select_related("contact"):
            if item.status == "sent":
                assert item.decided_by_id and item.requested_by_id
                assert item.decided_by_id != item.requested_by_id
            for person in everyone:
                held = roles_by_organisation(person)
                hotline_side = any(
                    org == item.contact.organisation_id
                    and {"hotline_counsellor", "coordinator"} & roles
                    for org, roles in held.items()
                )
                recipient_side = item.status == "sent" and item.recipient_id in held
                assert bool(decide(person, Action.VIEW, item)) == (
                    hotline_side or recipient_side
                ), (person.username, item.status)
