"""Reads of hotline contacts and referrals, always through the need-to-know policy.

No other module queries ``Contact``, ``Referral`` or ``ReferralEvent`` (a test checks).
Every read of one object, every list and every look at a caller's identity writes an
audit event; a denied access answers 404 and is recorded too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.access.policy import Action, decide, organisations_with, visible
from casebridge.accounts.models import Role
from casebridge.audit.services import audit_denied, audit_record
from casebridge.cooperation_models.models import Term
from casebridge.crypto.keys import name_index
from casebridge.dates import day_range
from casebridge.hotline.models import Answer, Contact, Referral, ReferralEvent
from casebridge.network.models import Organisation

_CONTACT_RELATED = (
    "language",
    "caller_category",
    "caller_relation",
    "contact_category",
    "closing_reason",
    "caller_region",
    "person_region",
    "counsellor",
    "earlier_contact",
)


def _contacts() -> QuerySet[Contact]:
    return Contact.objects.select_related(*_CONTACT_RELATED).prefetch_related("concern_topics")


def _referrals() -> QuerySet[Referral]:
    return Referral.objects.select_related(
        "contact__organisation",
        "contact__caller_category",
        "contact__language",
        "contact__person_region",
        "contact__caller_region",
        "partner",
        "sent_by",
        "responded_by",
    ).prefetch_related("services", "contact__concern_topics")


def _audit_list(actor, kind: str, count: int) -> None:
    audit_record(actor=actor, action=f"hotline.{kind}.list", details={"count": count})


def hotline_organisation_of(actor):
    """The hotline the actor takes calls for; PermissionDenied for everybody else."""
    ids = organisations_with(actor, frozenset({Role.HOTLINE_COUNSELLOR}))
    organisation = (
        Organisation.objects.filter(pk__in=ids, active=True).order_by("-is_hotline").first()
    )
    if organisation is None:
        raise PermissionDenied
    return organisation


def contact_list(
    actor,
    *,
    query: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
    contact_category: str = "",
    caller_category: str = "",
    counsellor_id: int | None = None,
    follow_up_open: bool = False,
    limit: int = 200,
) -> list[Contact]:
    """Contacts the actor may see, newest first, filtered; the list read is audited."""
    contacts = visible(actor, _contacts())
    if query:
        # Reference or words of the summary; searched in the body of a POST, never a URL.
        for word in query.split()[:5]:
            contacts = contacts.filter(Q(reference__iexact=word) | Q(summary__icontains=word))
    # a range of the indexed column, not started_at__date (which cast every row: on SQLite
    # 0.6 s through a Python function at 100,000 contacts, for the intake page's "today")
    contacts = contacts.filter(**day_range("started_at", day_from, day_to))
    if contact_category:
        contacts = contacts.filter(contact_category__code=contact_category)
    if caller_category:
        contacts = contacts.filter(caller_category__code=caller_category)
    if counsellor_id:
        contacts = contacts.filter(counsellor_id=counsellor_id)
    if follow_up_open:
        contacts = contacts.filter(follow_up_on__isnull=False, follow_up_done_at__isnull=True)
    result = list(contacts.order_by("-started_at")[:limit])
    _audit_list(actor, "contact", len(result))
    return result


@dataclass
class Shortlist:
    """The first rows of a list for a side panel, and how many more there are."""

    items: list
    more: int


COUNTED = 100  # a side panel counts its rows up to here: "and 90 more" at the most


def shortlist(actor, rows: QuerySet, kind: str, shown: int) -> Shortlist:
    """The first ``shown`` rows and a count of the rest up to ``COUNTED`` rows (counted
    only when there may be a rest); the audit records the rows shown."""
    items = list(rows[:shown])
    more = rows[:COUNTED].count() - shown if len(items) == shown else 0
    _audit_list(actor, kind, len(items))
    return Shortlist(items, more)


def intake_panels(actor, *, shown: int = 10) -> dict[str, Shortlist]:
    """The intake page's side panels: today's contacts, follow-ups due within a week and
    declined referrals back for re-routing, each the first ``shown`` with a count of the
    rest, loading only the columns the panel shows."""
    today = timezone.localdate()
    contacts = visible(actor, Contact.objects.all())
    todays = (
        contacts.filter(**day_range("started_at", today, today))
        .select_related("caller_category", "contact_category")
        .only("pk", "reference", "started_at", "caller_category", "contact_category")
        .order_by("-started_at")
    )
    due = (
        contacts.filter(
            follow_up_on__isnull=False,
            follow_up_on__lte=today + timedelta(days=7),
            follow_up_done_at__isnull=True,
        )
        .only("pk", "reference", "follow_up_on")
        .order_by("follow_up_on", "started_at")
    )
    still_open = Referral.objects.filter(
        contact=OuterRef("contact"), status__in=[Referral.Status.SENT, Referral.Status.ACCEPTED]
    )
    declined = (
        visible(actor, Referral.objects.all(), Action.CHANGE)
        .filter(status=Referral.Status.DECLINED)
        .exclude(Exists(still_open))
        .select_related("contact", "partner")
        .only("pk", "contact__reference", "partner__name", "responded_at")
        .order_by("-responded_at")
    )
    return {
        "today": shortlist(actor, todays, "contact", shown),
        "follow_ups": shortlist(actor, due, "follow_up", shown),
        "to_reroute": shortlist(actor, declined, "referral", shown),
    }


def follow_ups(actor, *, within_days: int = 7) -> list[Contact]:
    """Open follow-ups due within ``within_days`` (overdue ones included), soonest first."""
    horizon = timezone.localdate() + timedelta(days=within_days)
    contacts = visible(actor, _contacts()).filter(
        follow_up_on__isnull=False, follow_up_on__lte=horizon, follow_up_done_at__isnull=True
    )
    result = list(contacts.order_by("follow_up_on", "started_at"))
    _audit_list(actor, "follow_up", len(result))
    return result


def access_contact(actor, contact_id: int, *, for_write: bool = False) -> Contact:
    """Return one contact or raise 404 for missing and forbidden alike (the denial is audited)."""
    contact = (
        _contacts()
        .prefetch_related(
            Prefetch("referrals", queryset=_referrals().prefetch_related("events__actor")),
            Prefetch("later_contacts", queryset=Contact.objects.order_by("started_at")),
        )
        .filter(pk=contact_id)
        .first()
    )
    action = Action.CHANGE if for_write else Action.VIEW
    if contact is None:
        raise Http404
    decision = decide(actor, action, contact)
    if not decision:
        audit_denied(
            actor=actor,
            action=f"hotline.contact.{action}",
            object_type="hotline.contact",
            object_id=contact_id,
            reason=decision,
        )
        raise Http404
    # Opened to be changed or not, the contact is read: a change is recorded by the
    # service that makes it, and only when something changed.
    audit_record(
        actor=actor,
        action=f"hotline.contact.{Action.VIEW}",
        obj=contact,
        details={"reference": contact.reference},
    )
    return contact


def contact_by_reference(actor, reference: str) -> Contact | None:
    """The visible contact with this reference, or None (no audit: only its id is used)."""
    return visible(actor, Contact.objects.all()).filter(reference__iexact=reference.strip()).first()


def earlier_contacts(actor, contact: Contact) -> list[Contact]:
    """The chain of this caller's earlier contacts, oldest first (visible ones only)."""
    chain, seen = [], {contact.pk}
    node = contact.earlier_contact
    while node is not None and node.pk not in seen and len(chain) < 50:
        if not decide(actor, Action.VIEW, node):
            break
        chain.append(node)
        seen.add(node.pk)
        node = node.earlier_contact
    return list(reversed(chain))


def _inbox(actor, status: str) -> QuerySet[Referral]:
    referrals = visible(actor, _referrals(), Action.RESPOND)
    if status:
        referrals = referrals.filter(status=status)
    return referrals.order_by("-sent_at", "-pk")


def referral_inbox(actor, *, status: str = "") -> list[Referral]:
    """Referrals addressed to the actor's organisations (the partner's inbox), newest 200."""
    result = list(_inbox(actor, status)[:200])
    _audit_list(actor, "referral", len(result))
    return result


def referral_inbox_page(actor, *, status: str = "", page=None, per_page: int = 50) -> Page:
    """One page of the partner's inbox; the audit records the referrals shown."""
    result = Paginator(_inbox(actor, status), per_page).get_page(page)
    _audit_list(actor, "referral", len(result.object_list))
    return result


def access_referral(actor, referral_id: int, *, action: str = Action.VIEW) -> Referral:
    """Return one referral or 404 for missing and forbidden alike (the denial is audited)."""
    referral = (
        _referrals()
        .prefetch_related(
            Prefetch("events", queryset=ReferralEvent.objects.select_related("actor"))
        )
        .filter(pk=referral_id)
        .first()
    )
    if referral is None:
        raise Http404
    decision = decide(actor, Action.VIEW, referral)
    if not decision:
        audit_denied(
            actor=actor,
            action="hotline.referral.view",
            object_type="hotline.referral",
            object_id=referral_id,
            reason=decision,
        )
        raise Http404
    audit_record(actor=actor, action="hotline.referral.view", obj=referral)
    return referral


def caller_identity(actor, *, contact: Contact | None = None, referral: Referral | None = None):
    """The caller's name, phone and e-mail where the policy allows it, else None.

    Each look is audited as a read of identity data; the values never enter the event.
    """
    resource = referral if referral is not None else contact
    contact = referral.contact if referral is not None else contact
    if contact.anonymous or not decide(actor, Action.VIEW_IDENTITY, resource):
        return None
    audit_record(
        actor=actor,
        action="hotline.identity.view",
        obj=resource,
        purpose="referral" if referral is not None else "contact",
    )
    return {
        "name": contact.caller_name,
        "phone": contact.caller_phone,
        "email": contact.caller_email,
    }


def first_contact_overdue(referral: Referral, target_days: int) -> bool:
    """True when the partner has not reached the caller within the model's target."""
    if referral.first_contact_at is not None or referral.status not in (
        Referral.Status.SENT,
        Referral.Status.ACCEPTED,
    ):
        return False
    return timezone.now() - referral.sent_at > timedelta(days=target_days)


def reminders(actor) -> dict[str, int]:
    """Counts for the overview: follow-ups due or overdue, new referrals, referrals to re-route.

    Numbers only, so no audit event: nothing about a person is read.
    """
    today = timezone.localdate()
    open_follow_ups = visible(actor, Contact.objects.all()).filter(
        follow_up_on__isnull=False, follow_up_done_at__isnull=True
    )
    still_open = Referral.objects.filter(
        contact=OuterRef("contact"), status__in=[Referral.Status.SENT, Referral.Status.ACCEPTED]
    )
    return {
        "follow_ups_today": open_follow_ups.filter(follow_up_on=today).count(),
        "follow_ups_overdue": open_follow_ups.filter(follow_up_on__lt=today).count(),
        "new_referrals": visible(actor, Referral.objects.all(), Action.RESPOND)
        .filter(status=Referral.Status.SENT)
        .count(),
        "to_reroute": visible(actor, Referral.objects.all(), Action.CHANGE)
        .filter(status=Referral.Status.DECLINED)
        .exclude(Exists(still_open))
        .count(),
    }


def referral_history(referral: Referral) -> list[ReferralEvent]:
    """The events of a referral the caller obtained through ``access_referral`` or
    ``access_contact`` (prefetched there; one query otherwise)."""
    return list(referral.events.all())


def contact_referrals(contact: Contact) -> list[Referral]:
    """The referrals of a contact the caller obtained through ``access_contact``."""
    return list(contact.referrals.all())


@dataclass(frozen=True)
class AnalysisPoint:
    label: str
    answer: str  # "" when not asked
    answer_label: str
    event: str | None


def first_analysis(contact: Contact) -> list[AnalysisPoint]:
    """The contact's first analysis in the model's order, every point (asked or not), for
    the contact page; the contact was obtained through ``access_contact``."""
    labels = dict(Answer.choices)
    answers = contact.first_analysis or {}
    return [
        AnalysisPoint(
            label=point.label,
            answer=answers.get(point.code, ""),
            answer_label=str(labels.get(answers.get(point.code, ""), _("not asked"))),
            event=point.attributes.get("event"),
        )
        for point in Term.objects.filter(kind="first_analysis")
        if point.active or point.code in answers
    ]


def found_danger(contact: Contact) -> bool:
    """Whether the first analysis raised a hotline event (a danger) for the contact."""
    return contact.protocol_events.exists()


EARLIER_SHOWN = 5


def earlier_contacts_of_caller(actor, name: str) -> list[Contact]:
    """While a caller who gave their name is on the line: the hotline's earlier contacts
    with the same name (by its keyed digest, never the plaintext), newest first, to link a
    repeat caller. The lookup is audited, with the number found and no name."""
    index = name_index(name)
    if not index:
        return []
    found = list(
        visible(actor, _contacts().filter(caller_index=index), Action.VIEW).order_by("-started_at")[
            :EARLIER_SHOWN
        ]
    )
    audit_record(
        actor=actor,
        action="hotline.contact.lookup",
        details={"found": len(found)},
        purpose="repeat caller",
    )
    return found
