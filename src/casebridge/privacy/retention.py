"""Retention: apply the periods of the cooperation model's [retention] table.

``retention_run()`` finds, rule by rule, the records whose period has passed and that
still hold content, and anonymises them (``privacy.erasure``). A dry run evaluates the
same queries and changes nothing, not even the audit log; the rules touch disjoint
records or fields, so a dry run reports exactly what the real run then does. A record
once emptied no longer matches, so a second run finds nothing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.audit import services as audit_services
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_record, chain_end
from casebridge.cases.models import Case, ConferenceItem, Entry
from casebridge.cooperation_models.models import CooperationModel, Term
from casebridge.hotline.models import Contact, Referral, ReferralEvent
from casebridge.privacy import erasure
from casebridge.sharing.models import Consent, ContactDisclosure, Disclosure, InformationRequest


@dataclass(frozen=True)
class RuleResult:
    rule: str  # the rule's code, e.g. "contacts.anonymous_text"
    record_type: str  # what was counted, e.g. "contact"
    count: int
    before: datetime  # records older than this were due


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` earlier (the month's last day where it is shorter)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def years_before(moment: datetime, years: int) -> datetime:
    return months_before(moment, 12 * years)


RULE_LABELS = {
    "contacts.anonymous_text": _("anonymous contacts lose their free text"),
    "contacts.identified": _("identified contacts without a referral lose identity and text"),
    "referrals.closed": _("closed referrals lose their messages, their contacts identity and text"),
    "cases.closed": _("closed cases: identity, related people and documents erased"),
    "consents.ended": _("ended consents lose their purpose text"),
    "disclosures.decided": _("disclosures lose excerpt, purpose and justification"),
    "audit.events": _("audit events pruned (the rest of the chain stays verifiable)"),
}


def rule_label(rule: str) -> str:
    if rule.startswith("entries."):
        return _("free text of entries in category %(code)s") % {"code": rule.split(".", 1)[1]}
    return str(RULE_LABELS.get(rule, rule))


def retention_periods() -> dict | None:
    """The [retention] table of the loaded cooperation model, or None when it has none."""
    model = CooperationModel.objects.first()
    return (model.settings or {}).get("retention") if model else None


def retention_due(*, now: datetime | None = None) -> bool:
    """True unless a real run already happened today (the worker runs once a day)."""
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return not AuditEvent.objects.filter(action="retention.run", occurred_at__gte=start).exists()


class _Run:
    def __init__(self, *, now: datetime, dry_run: bool, actor):
        self.now, self.dry_run, self.actor = now, dry_run, actor
        self.results: list[RuleResult] = []
        # The run's own events happen in real time but are written as of ``now``: the audit
        # rule of this run and of any later run at the same ``now`` keeps them.
        self.as_of = {"as_of": now.isoformat()}
        # Only events that existed when the run began may be pruned (sealed here, so the
        # dry run and the real run count the same chain).
        self.chain_end = chain_end()

    def add(self, rule: str, before: datetime, counts: dict[str, int]) -> None:
        for record_type, count in counts.items():
            self.results.append(RuleResult(rule, record_type, count, before))
        if not self.dry_run and any(counts.values()):
            audit_record(
                actor=self.actor,
                action=f"retention.{rule}",
                purpose="retention",
                details={"before": before.isoformat(), "counts": counts, **self.as_of},
            )

    # -- the rules ------------------------------------------------------------------------

    def anonymous_contacts(self, months: int) -> None:
        before = months_before(self.now, months)
        due = Contact.objects.filter(anonymous=True, started_at__lt=before).filter(
            erasure.CONTACT_TEXT_LEFT
        )
        count = (
            due.count()
            if self.dry_run
            else erasure.contacts_clear(due, identity=False, now=self.now)
        )
        self.add("contacts.anonymous_text", before, {"contact": count})

    def identified_contacts(self, months: int) -> None:
        before = months_before(self.now, months)
        due = Contact.objects.filter(
            anonymous=False, started_at__lt=before, referrals__isnull=True
        ).filter(erasure.CONTACT_CONTENT_LEFT)
        count = (
            due.count()
            if self.dry_run
            else erasure.contacts_clear(due, identity=True, now=self.now)
        )
        self.add("contacts.identified", before, {"contact": count})

    def closed_referrals(self, months: int) -> None:
        before = months_before(self.now, months)
        closed = Referral.objects.annotate(last_event=Max("events__at")).filter(
            Q(
                status__in=[Referral.Status.DECLINED, Referral.Status.WITHDRAWN],
                last_event__lt=before,
            )
            | Q(status=Referral.Status.ACCEPTED, case__closed_at__lt=before)
        )
        closed_ids = list(closed.values_list("pk", flat=True))
        noted = ReferralEvent.objects.exclude(note="").values("referral_id")
        referrals = Referral.objects.filter(pk__in=closed_ids).filter(
            erasure.REFERRAL_TEXT_LEFT | Q(pk__in=noted)
        )
        # An identified contact loses identity and text once every referral of it is closed.
        contacts = (
            Contact.objects.filter(anonymous=False, referrals__in=closed_ids)
            .exclude(referrals__in=Referral.objects.exclude(pk__in=closed_ids))
            .filter(erasure.CONTACT_CONTENT_LEFT)
            .distinct()
        )
        if self.dry_run:
            counts = {"referral": referrals.count(), "contact": contacts.count()}
        else:
            contact_ids = list(contacts.values_list("pk", flat=True))
            counts = {
                "referral": erasure.referrals_clear(
                    Referral.objects.filter(pk__in=list(referrals.values_list("pk", flat=True)))
                ),
                "contact": erasure.contacts_clear(
                    Contact.objects.filter(pk__in=contact_ids), identity=True, now=self.now
                ),
            }
        self.add("referrals.closed", before, counts)

    def closed_cases(self, years: int) -> None:
        before = years_before(self.now, years)
        due = Case.objects.filter(
            status=Case.Status.CLOSED, closed_at__lt=before, anonymised_at__isnull=True
        )
        if self.dry_run:
            ids = list(due.values_list("pk", flat=True))
            counts = {
                "case": len(ids),
                "related person": erasure.RelatedPerson.objects.filter(case_id__in=ids)
                .filter(erasure.RELATED_PERSON_LEFT)
                .count(),
                "document": Entry.objects.filter(case_id__in=ids).exclude(document="").count(),
            }
        else:
            counts = erasure.cases_anonymise(due, now=self.now)
            counts = {k: counts[k] for k in ("case", "related person", "document")}
        self.add("cases.closed", before, counts)

    def category_texts(self, years_by_category: dict[str, int], default_years: int) -> None:
        for category in Term.objects.filter(kind="information_category").order_by("position"):
            years = years_by_category.get(category.code, default_years)
            before = years_before(self.now, years)
            case_ids = Case.objects.filter(status=Case.Status.CLOSED, closed_at__lt=before).values(
                "pk"
            )
            goals = category.code == "case_coordination"
            if self.dry_run:
                counts = {
                    "entry": Entry.objects.filter(case_id__in=case_ids, category=category)
                    .filter(erasure.ENTRY_TEXT_LEFT)
                    .count(),
                    "conference item": ConferenceItem.objects.filter(
                        conference__case_id__in=case_ids, category=category
                    )
                    .exclude(text="")
                    .count(),
                }
                if goals:
                    counts["goal"] = (
                        erasure.Goal.objects.filter(case_id__in=case_ids).exclude(title="").count()
                    )
            else:
                counts = erasure.case_items_clear(case_ids, category_ids=[category.pk])
                if goals:
                    counts["goal"] = (
                        erasure.Goal.objects.filter(case_id__in=case_ids)
                        .exclude(title="")
                        .update(title="")
                    )
                else:
                    counts.pop("goal")
            self.add(f"entries.{category.code}", before, counts)

    def consents(self, years: int) -> None:
        before = years_before(self.now, years)
        due = Consent.objects.filter(
            Q(withdrawn_at__lt=before) | Q(valid_until__lt=timezone.localdate(before))
        ).filter(erasure.CONSENT_TEXT_LEFT)
        count = due.count() if self.dry_run else erasure.consents_clear(due)
        self.add("consents.ended", before, {"consent": count})

    def disclosures(self, years: int) -> None:
        before = years_before(self.now, years)
        due = Disclosure.objects.filter(
            Q(decided_at__lt=before) | Q(decided_at__isnull=True, requested_at__lt=before)
        ).filter(erasure.DISCLOSURE_TEXT_LEFT)
        count = due.count() if self.dry_run else erasure.disclosures_clear(due)
        # Requests for information are the other half of the flow: the same period.
        asked = InformationRequest.objects.filter(
            Q(decided_at__lt=before) | Q(decided_at__isnull=True, requested_at__lt=before)
        ).filter(erasure.REQUEST_TEXT_LEFT)
        asked_count = asked.count() if self.dry_run else erasure.requests_clear(asked)
        # The hotline's disclosures are disclosures too: the same period after the decision
        # (or, never decided, after they were created).
        hotline = ContactDisclosure.objects.filter(
            Q(decided_at__lt=before) | Q(decided_at__isnull=True, created_at__lt=before)
        ).filter(erasure.CONTACT_DISCLOSURE_TEXT_LEFT)
        hotline_count = (
            hotline.count() if self.dry_run else erasure.contact_disclosures_clear(hotline)
        )
        self.add(
            "disclosures.decided",
            before,
            {
                "disclosure": count,
                "request for information": asked_count,
                "hotline disclosure": hotline_count,
            },
        )

    def audit_events(self, years: int) -> None:
        # Written by the audit app (it removes a verifiable prefix of the chain).
        before = years_before(self.now, years)
        count = audit_services.audit_prune(
            before=before,
            actor=self.actor,
            dry_run=self.dry_run,
            through_sequence=self.chain_end,
            as_of=self.now,
        )
        self.results.append(RuleResult("audit.events", "audit event", count, before))


def retention_run(*, now: datetime | None = None, dry_run: bool, actor=None) -> list[RuleResult]:
    """Apply (or, with ``dry_run``, only count) every retention rule; return counts per rule
    and record type. Raises ``LookupError`` when the cooperation model sets no periods."""
    periods = retention_periods()
    if periods is None:
        raise LookupError("the cooperation model has no [retention] table")
    run = _Run(now=now or timezone.now(), dry_run=dry_run, actor=actor)
    with transaction.atomic():
        run.anonymous_contacts(periods["anonymous_contact_text_months"])
        run.identified_contacts(periods["identified_contact_months"])
        run.closed_referrals(periods["closed_referral_months"])
        run.closed_cases(periods["closed_case_years"])
        run.category_texts(periods.get("category_years") or {}, periods["closed_case_years"])
        run.consents(periods["consent_years"])
        run.disclosures(periods["disclosure_years"])
        if not dry_run:
            audit_record(
                actor=actor,
                action="retention.run",
                purpose="retention",
                details={"records": sum(r.count for r in run.results), **run.as_of},
            )
    # The audit rule runs last and on its own transaction: it prunes only events that
    # existed when the run began and never this run's own (written as of ``now``), and
    # audit_prune keeps the rest of the chain verifiable.
    run.audit_events(periods["audit_event_years"])
    return run.results


__all__ = ["RuleResult", "retention_due", "retention_run", "rule_label"]
