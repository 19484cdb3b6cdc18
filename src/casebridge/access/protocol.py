"""Protocol events (DESIGN.md, access kernel): what the active SOP requires when something
happens in a case, and recording it with the obligations it creates.

Every app that changes a case raises its events here (``event_raise``): the kernel
imports only models, the SOP engine and the audit log, so cases, hotline and sharing can
all call it without importing each other.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.audit.services import audit_record
from casebridge.cases.models import Case, Entry, Participant
from casebridge.cooperation_models.models import Term
from casebridge.hotline.models import Contact
from casebridge.network.models import Organisation, OrganisationType
from casebridge.sharing.models import (
    CaseEvent,
    ContactDisclosure,
    ContactEvent,
    Obligation,
    Protocol,
)
from casebridge.sop import engine as sop
from casebridge.sop.events import EVENTS, HOTLINE_EVENTS


def protocol_for(case: Case) -> Protocol | None:
    """The active protocol the case's lead organisation agreed to, in force today."""
    return protocol_for_organisation(case.owner)


def protocol_for_organisation(organisation: Organisation) -> Protocol | None:
    """The active protocol, in force today, that ``organisation``'s type agreed to."""
    today = timezone.localdate()
    for protocol in Protocol.objects.filter(
        status=Protocol.Status.ACTIVE, effective_from__lte=today
    ):
        if protocol.effective_until and protocol.effective_until < today:
            continue
        if organisation.type.code in protocol.parties:
            return protocol
    return None


def parties_of(case: Case) -> list[sop.Party]:
    participants = (
        Participant.objects.active()
        .filter(case=case)
        .select_related("organisation__type__sector", "role")
    )
    return [
        sop.Party(
            participant_id=p.pk,
            organisation=p.organisation.name,
            organisation_type=p.organisation.type.code,
            sector=p.organisation.type.sector.code,
            role=p.role.code,
            lead=bool(p.role.attributes.get("lead")),
        )
        for p in participants
    ]


def simulate(
    case: Case,
    event: str,
    *,
    likelihood: str = "",
    imminence: str = "",
    event_date: date | None = None,
) -> tuple[Protocol | None, list[sop.Outcome]]:
    """What the SOP would require for a hypothetical event; changes nothing."""
    if event not in EVENTS or event == "always":
        raise ValidationError({"event": [_("Unknown event.")]})
    protocol = protocol_for(case)
    if protocol is None:
        return None, []
    outcomes = sop.evaluate(
        protocol.parsed_rules(),
        parties_of(case),
        event,
        now=timezone.now(),
        likelihood=likelihood,
        imminence=imminence,
        event_date=event_date,
    )
    return protocol, outcomes


def _lead_worker(case: Case):
    lead = (
        Participant.objects.active()
        .filter(case=case, role__attributes__lead=True)
        .select_related("lead_worker")
        .first()
    )
    return lead.lead_worker if lead else None


def _sender_workers(protocol: Protocol | None, outcomes: list[sop.Outcome]) -> dict:
    """Rule code -> the lead worker of the participant the rule names as its sender, for the
    rules that name one and whose sender takes part in the case (the prison knows the release
    date). The other obligations stay with the case's lead worker."""
    if protocol is None:
        return {}
    named = {rule.code for rule in protocol.parsed_rules() if rule.sender is not None}
    ids = {
        o.rule: o.sender_participant_id
        for o in outcomes
        if o.rule in named and o.sender_participant_id is not None
    }
    workers = {
        p.pk: p.lead_worker
        for p in Participant.objects.filter(pk__in=set(ids.values())).select_related("lead_worker")
    }
    return {rule: workers[pk] for rule, pk in ids.items() if workers.get(pk) is not None}


@transaction.atomic
def event_raise(
    *,
    actor,
    case: Case,
    code: str,
    likelihood: str = "",
    imminence: str = "",
    event_date: date | None = None,
    entry: Entry | None = None,
) -> CaseEvent:
    """Record an event and create the obligations the active protocol attaches to it."""
    if code == "release_scheduled" and event_date is None:
        raise ValidationError({"event_date": [_("Give the date of the release.")]})
    protocol, outcomes = simulate(
        case, code, likelihood=likelihood, imminence=imminence, event_date=event_date
    )
    event = CaseEvent.objects.create(
        case=case,
        code=code,
        event_date=event_date,
        likelihood=likelihood,
        imminence=imminence,
        entry=entry,
        protocol=protocol,
        recorded_by=actor,
    )
    responsible = _lead_worker(case)
    senders = _sender_workers(protocol, outcomes)
    created = 0
    for outcome in outcomes:
        if outcome.obligation != "must_inform":
            continue
        Obligation.objects.create(
            case=case,
            event=event,
            protocol=protocol,
            rule=outcome.rule,
            label=outcome.label[:300],
            recipient_id=outcome.recipient_participant_id,
            recipient_label=outcome.recipient[:200],
            categories=outcome.categories,
            legal_basis=outcome.legal_basis,
            consent_required=outcome.consent_required,
            second_approval=outcome.second_approval,
            due_at=outcome.due,
            responsible=senders.get(outcome.rule, responsible),
        )
        created += 1
    audit_record(
        actor=actor,
        action="sharing.event.raise",
        obj=event,
        details={
            "case": case.number,
            "event": code,
            "obligations": created,
            "protocol": str(protocol) if protocol else None,
        },
    )
    return event


# --- the hotline: events of a contact ------------------------------------------------------


def contact_region(contact: Contact):
    """Where the person of concern lives, as far as the call told: their region, else the
    caller's."""
    return contact.person_region or contact.caller_region


def recipient_candidates(disclosure: ContactDisclosure) -> list[Organisation]:
    """The active organisations a hotline disclosure may go to (the rule's type or sector),
    those responsible for the contact's region first (``recipient_rank``), then by name."""
    organisations = Organisation.objects.filter(active=True).select_related("region__parent")
    if disclosure.recipient_type_id:
        organisations = organisations.filter(type_id=disclosure.recipient_type_id)
    else:
        organisations = organisations.filter(type__sector__code=disclosure.recipient_sector)
    organisations = organisations.prefetch_related("coverages__region__parent")
    return sorted(organisations, key=lambda o: (recipient_rank(disclosure, o), o.name))


def recipient_rank(disclosure: ContactDisclosure, organisation: Organisation) -> int:
    """0: the organisation covers the contact's region (or a region above or below it);
    1: it is seated in the region's state; 2: neither, or the region is not known."""
    region = contact_region(disclosure.contact)
    if region is None:
        return 2
    if organisation.covers(region):
        return 0
    state = next((r.pk for r in region.path() if r.level == "state"), None)
    return 1 if state is not None and state in {r.pk for r in organisation.region.path()} else 2


def responsible_recipient(disclosure: ContactDisclosure) -> Organisation | None:
    """The organisation responsible for the contact's region, if the directory names one;
    otherwise the counsellor chooses."""
    candidates = recipient_candidates(disclosure)
    if candidates and recipient_rank(disclosure, candidates[0]) < 2:
        return candidates[0]
    return None


@transaction.atomic
def contact_event_raise(*, actor, contact: Contact, code: str) -> ContactEvent | None:
    """Record a hotline event of ``contact`` once and create what the hotline's protocol
    asks for: one disclosure to prepare per must_inform or may_inform rule, addressed to
    the organisation of the rule's type for the contact's region where the directory
    names one. A second raise of the same event changes nothing (returns None)."""
    if code not in HOTLINE_EVENTS:
        raise ValidationError({"code": [_("Unknown event.")]})
    if ContactEvent.objects.filter(contact=contact, code=code).exists():
        return None
    protocol = protocol_for_organisation(contact.organisation)
    event = ContactEvent.objects.create(
        contact=contact, code=code, protocol=protocol, recorded_by=actor
    )
    created = 0
    if protocol is not None:
        rules = {rule.code: rule for rule in protocol.parsed_rules()}
        bases = {t.code: t for t in Term.objects.of("legal_basis")}
        types = {t.code: t for t in OrganisationType.objects.all()}
        outcomes = sop.evaluate(rules.values(), [], code, now=timezone.now())
        for outcome in outcomes:
            if outcome.obligation not in ("must_inform", "may_inform"):
                continue
            recipient = rules[outcome.rule].recipient
            disclosure = ContactDisclosure(
                contact=contact,
                event=event,
                protocol=protocol,
                rule=outcome.rule,
                duty=outcome.obligation,
                recipient_type=types.get(recipient.organisation_type or ""),
                recipient_sector=recipient.sector or "",
                categories=outcome.categories,
                legal_basis=bases[outcome.legal_basis],
                due_at=outcome.due,
            )
            disclosure.recipient = responsible_recipient(disclosure)
            disclosure.save()
            created += 1
    audit_record(
        actor=actor,
        action="sharing.contact_event.raise",
        obj=event,
        details={
            "contact": contact.reference,
            "event": code,
            "disclosures": created,
            "protocol": str(protocol) if protocol else None,
        },
    )
    return event


def _sender_participants(case: Case, rules) -> dict[str, Participant]:
    """Rule code -> the participant a rule names as its sender, where one with a lead worker
    takes part in the case; rules without a sender are the lead's."""
    named = [rule for rule in rules if rule.sender is not None]
    if not named:
        return {}
    parties = parties_of(case)
    ids = {}
    for rule in named:
        party = sop.sender_of(rule, parties)
        if party is not None:
            ids[rule.code] = party.participant_id
    participants = Participant.objects.filter(
        pk__in=set(ids.values()), lead_worker__isnull=False
    ).select_related("lead_worker")
    by_id = {p.pk: p for p in participants}
    return {code: by_id[pk] for code, pk in ids.items() if pk in by_id}


def obligations_follow_lead(*, actor, case: Case, responsible) -> tuple[list[int], list[int]]:
    """After the case changed its lead organisation (a transfer): the open obligations are
    judged again under the procedure the new lead agreed to (``protocol_for``). Those whose
    rule it has move to the new lead worker; those whose rule it lacks are cancelled with a
    note saying so. Returns the ids moved and cancelled; the caller's transaction holds it."""
    protocol = protocol_for(case)
    rules = {rule.code: rule for rule in protocol.parsed_rules()} if protocol else {}
    senders = _sender_participants(case, rules.values())
    moved, cancelled = [], []
    for obligation in Obligation.objects.filter(case=case, status=Obligation.Status.OPEN):
        if obligation.rule in rules:
            # a rule that names another party as its sender stays with that party
            sender = senders.get(obligation.rule)
            obligation.responsible = sender.lead_worker if sender else responsible
            obligation.protocol = protocol
            obligation.save(update_fields=["responsible", "protocol"])
            moved.append(obligation.pk)
            continue
        if protocol is None:
            note = _(
                "Cancelled on transfer: no procedure applies to the organisation that took "
                "the case over, so rule %(rule)s no longer applies."
            ) % {"rule": obligation.rule}
        else:
            note = _(
                "Cancelled on transfer: rule %(rule)s is not part of %(protocol)s, the "
                "procedure of the organisation that took the case over."
            ) % {"rule": obligation.rule, "protocol": protocol}
        obligation.status, obligation.note = Obligation.Status.CANCELLED, note[:300]
        obligation.save(update_fields=["status", "note"])
        cancelled.append(obligation.pk)
    if moved or cancelled:
        audit_record(
            actor=actor,
            action="sharing.obligation.follow_lead",
            obj=case,
            details={
                "case": case.number,
                "moved": moved,
                "cancelled": cancelled,
                "protocol": str(protocol) if protocol else None,
            },
        )
    return moved, cancelled
