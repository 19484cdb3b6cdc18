"""Synthetic volume for benchmarks and tests: contacts, referrals and cases with
participants, handovers, goals, obligations, disclosures and requests for information,
their outcomes (judgements at intake, reviews, closure and follow-ups, consent to
follow-up, the phase reached), and case entries.

Written in bulk, without the services (a hundred thousand cases through them would take
hours); nothing here is personal data. Needs the German model loaded and a hotline.
``casebridge generate --scale 1`` writes the realistic volume of issue 9 (``ops.scale.VOLUME``:
100,000 contacts, 20,000 cases, 500,000 entries; ``--scale 10`` ten times that).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from casebridge.accounts.models import Membership, Role, User
from casebridge.audit.services import audit_record
from casebridge.cases.models import Case, Entry, Goal, Handover, Participant, Phase
from casebridge.cases.services import default_scope, identity_index
from casebridge.cooperation_models.models import CooperationModel, Term
from casebridge.dates import add_months
from casebridge.facts import changed as facts_changed
from casebridge.hotline.models import AgeBand, Channel, Contact, Gender, Referral
from casebridge.network.models import COUNSELLING_SECTORS, Organisation, PostcodeArea
from casebridge.outcomes.models import Assessment, FollowUp, FollowUpConsent, Rating
from casebridge.sharing.models import (
    CaseEvent,
    ContactDisclosure,
    ContactEvent,
    Disclosure,
    InformationRequest,
    Obligation,
    Protocol,
)
from casebridge.sop.events import HOTLINE_EVENTS
from casebridge.stats.aggregates import forget_built_months
from casebridge.stats.models import PhaseReached

# the seed's order of caller groups (DOMAIN.md), as weights in the model's order
CALLER_WEIGHTS = [40, 20, 15, 12, 5, 5, 3]
UNUSABLE = "!"  # Django's marker for an unusable password: generated staff cannot log in


def build(
    *,
    contacts: int,
    cases: int,
    entries: int = 0,
    seed: int = 7,
    days: int = 730,
    batch: int = 5000,
    exact_callers: bool = False,
):
    """Add ``contacts`` contacts (about a third referred), ``cases`` cases from them and
    ``entries`` entries in those cases.

    Caller groups follow the seed's weights (parents and relatives 40, professional
    environment 20, private environment 15, school 12, employer 5, authority 5, affected
    person 3), drawn at random — or, with ``exact_callers`` (the demo's year), in exactly
    those proportions, shuffled, so that a small year shows the seed's order.

    Returns the counts made. Cases are opened from accepted referrals while there are
    enough, the rest without a referral.
    """

    rng = random.Random(seed)
    now = timezone.now()
    terms: dict[str, list] = {}
    for term in Term.objects.filter(active=True):
        terms.setdefault(term.kind, []).append(term)
    hotline = Organisation.objects.get(is_hotline=True)
    partners = list(
        Organisation.objects.filter(
            active=True, type__sector__code__in=COUNSELLING_SECTORS
        ).exclude(is_hotline=True)
    )
    police = list(Organisation.objects.filter(active=True, type__sector__code="security"))
    youth = (
        list(Organisation.objects.filter(active=True, type__sector__code="child_welfare")) or police
    )
    offset = User.objects.count()
    staff = User.objects.bulk_create(
        [User(username=f"statsgen{offset + n}", password=UNUSABLE) for n in range(20)]
    )
    Membership.objects.bulk_create(
        [Membership(user=staff[0], organisation=hotline, role=Role.HOTLINE_COUNSELLOR)]
    )
    areas = list(PostcodeArea.objects.values_list("postcode", "region_id"))
    one_off = [
        term
        for term in terms.get("closing_reason", [])
        if term.attributes.get("contact_category") == "one_off_consultation"
    ]
    roles = {t.code: t for t in terms["case_role"]}
    lead_role = next(t for t in terms["case_role"] if t.attributes.get("lead"))
    protocol = Protocol.objects.order_by("pk").first()
    first = (Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    made = {"contacts": 0, "referrals": 0, "cases": 0, "hotline_disclosures": 0, "requests": 0}
    accepted: list[Referral] = []
    callers = (
        iter(_in_proportion(terms["caller_category"], contacts, random.Random(seed)))
        if exact_callers
        else None
    )
    with transaction.atomic():
        for start in range(0, contacts, batch):
            rows = []
            for number in range(start, min(contacts, start + batch)):
                started = now - timedelta(minutes=rng.randint(10, days * 24 * 60))
                postcode, region_id = rng.choice(areas)
                category = rng.choices(
                    terms["contact_category"],
                    weights=[3, 5, 2, 1][: len(terms["contact_category"])],
                )[0]
                rows.append(
                    Contact(
                        reference=f"ST-{first + number:08d}",
                        organisation=hotline,
                        counsellor=staff[0],
                        channel=rng.choices(Channel.values, weights=[70, 15, 8, 2, 5])[0],
                        started_at=started,
                        ended_at=started + timedelta(minutes=rng.randint(5, 60)),
                        language=rng.choices(
                            terms["language"], weights=[85] + [2] * (len(terms["language"]) - 1)
                        )[0],
                        caller_category=next(callers)
                        if callers is not None
                        else rng.choices(
                            terms["caller_category"],
                            weights=CALLER_WEIGHTS[: len(terms["caller_category"])],
                        )[0],
                        caller_relation=rng.choice(terms["caller_relation"]),
                        caller_postcode=postcode,
                        caller_region_id=region_id,
                        person_region_id=region_id if rng.random() < 0.9 else None,
                        person_age_band=rng.choice(AgeBand.values),
                        person_gender=rng.choice(Gender.values),
                        contact_category=category,
                        closing_reason=rng.choice(one_off)
                        if one_off and category.code == "one_off_consultation"
                        else None,
                        summary="Synthetic contact for benchmarks.",
                    )
                )
            created = Contact.objects.bulk_create(rows, batch_size=1000)
            referrals = []
            for contact in created:
                if rng.random() >= 0.33:
                    continue
                status = rng.choices(["sent", "accepted", "declined"], weights=[1, 8, 1])[0]
                sent = contact.ended_at + timedelta(hours=rng.randint(0, 72))
                answered = sent + timedelta(hours=rng.randint(2, 240))
                referrals.append(
                    Referral(
                        contact=contact,
                        partner=rng.choice(partners),
                        mode=rng.choice(["anonymous", "consent"]),
                        status=status,
                        sent_at=sent,
                        sent_by=staff[0],
                        responded_at=None if status == "sent" else answered,
                        first_appointment_on=(answered + timedelta(days=rng.randint(1, 30))).date()
                        if status == "accepted" and rng.random() < 0.7
                        else None,
                    )
                )
            Referral.objects.bulk_create(referrals, batch_size=1000)
            made["hotline_disclosures"] += _dangers(
                created, hotline, staff, random.Random(seed + start + 1)
            )
            accepted += [r for r in referrals if r.status == "accepted" and len(accepted) < cases]
            made["contacts"] += len(created)
            made["referrals"] += len(referrals)
        first_case = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        outcomes = _Outcomes(staff[0])
        for start in range(0, cases, batch):
            rows = []
            for number in range(start, min(cases, start + batch)):
                referral = accepted[number] if number < len(accepted) else None
                opened = (
                    referral.responded_at + timedelta(days=rng.randint(1, 40))
                    if referral
                    else now - timedelta(days=rng.randint(1, days))
                )
                opened = min(opened, now - timedelta(minutes=5))
                closed = None
                if rng.random() < 0.45:
                    closed = min(now, opened + timedelta(days=rng.randint(10, 900)))
                rows.append(
                    Case(
                        number=f"SG-{first_case + number:08d}",
                        owner=referral.partner if referral else rng.choice(partners),
                        pseudonym=f"P{number}",
                        status="closed" if closed else "open",
                        phase=Phase.CLOSURE if closed else rng.choice(Phase.values[:-1]),
                        closing_reason=rng.choice(terms["case_closing_reason"]) if closed else None,
                        referral=referral,
                        opened_at=opened,
                        closed_at=closed,
                    )
                )
            created = Case.objects.bulk_create(rows, batch_size=1000)
            participants, second = [], []
            for case in created:
                lead = Participant(
                    case=case,
                    organisation=case.owner,
                    role=lead_role,
                    lead_worker=rng.choice(staff) if rng.random() < 0.9 else None,
                    valid_from=case.opened_at,
                )
                participants.append(lead)
                if rng.random() < 0.3:
                    other = Participant(
                        case=case,
                        organisation=rng.choice(police if rng.random() < 0.7 else youth),
                        role=roles.get("police_liaison", lead_role),
                        valid_from=case.opened_at,
                    )
                    participants.append(other)
                    second.append((lead, other))
            Participant.objects.bulk_create(participants, batch_size=1000)
            Handover.objects.bulk_create(
                [
                    Handover(
                        participant=p,
                        to_worker=rng.choice(staff),
                        note="synthetic",
                        actor=staff[0],
                        at=p.valid_from + timedelta(days=rng.randint(1, 200)),
                    )
                    for p in participants
                    if p.role_id == lead_role.pk
                    for _ in range(rng.choices([0, 1, 2, 3, 4], weights=[60, 25, 8, 5, 2])[0])
                ],
                batch_size=1000,
            )
            Goal.objects.bulk_create(
                [
                    Goal(
                        case=case,
                        horizon=rng.choice(Goal.Horizon.values),
                        title="synthetic goal",
                        status=rng.choices(Goal.Status.values, weights=[5, 4, 1])[0],
                        created_by=staff[0],
                    )
                    for case in created
                    for _ in range(rng.randint(0, 3))
                ],
                batch_size=1000,
            )
            if protocol is not None:
                events = CaseEvent.objects.bulk_create(
                    [
                        CaseEvent(case=lead.case, code="case_opened", recorded_by=staff[0])
                        for lead, _other in second
                    ]
                )
                obligations, disclosures = [], []
                for event, (lead, other) in zip(events, second, strict=True):
                    due = lead.valid_from + timedelta(days=rng.randint(1, 30))
                    status = rng.choices(["open", "fulfilled", "cancelled"], weights=[3, 6, 1])[0]
                    obligations.append(
                        Obligation(
                            case=lead.case,
                            event=event,
                            protocol=protocol,
                            rule="synthetic",
                            label="synthetic",
                            recipient=other,
                            recipient_label="",
                            legal_basis="consent",
                            due_at=due,
                            status=status,
                            fulfilled_at=due + timedelta(days=rng.randint(-5, 5))
                            if status == "fulfilled"
                            else None,
                        )
                    )
                    if rng.random() < 0.6:
                        forward = rng.random() < 0.7
                        disclosures.append(
                            Disclosure(
                                case=lead.case,
                                from_participant=lead if forward else other,
                                to_participant=other if forward else lead,
                                purpose="synthetic",
                                legal_basis=rng.choice(terms["legal_basis"]),
                                requested_by=staff[0],
                                status=rng.choices(
                                    ["approved", "pending", "rejected"], weights=[8, 1, 1]
                                )[0],
                                decided_at=min(now, due),
                            )
                        )
                Obligation.objects.bulk_create(obligations, batch_size=1000)
                Disclosure.objects.bulk_create(disclosures, batch_size=1000)
            made["requests"] += _requests(second, terms, staff[0], random.Random(seed + start + 2))
            made["cases"] += len(created)
            for key, n in outcomes.make(created, random.Random(seed + start + 3)).items():
                made[key] = made.get(key, 0) + n
    if entries:
        made["entries"] = entries_build(count=entries, author=staff[0], seed=seed, batch=batch)
    # bulk_create sends no signals: have every month's statistics built again on reading

    forget_built_months()
    facts_changed()  # participants and memberships were written past the signals
    return made


ENTRY_KINDS = ["note", "session", "call", "measure"]


def _requests(pairs, terms, asker, rng: random.Random) -> int:
    """Requests for information between the lead and the other participant of about half of
    the two-party cases, both ways (drawn from their own ``rng``, so that everything else
    generated stays as it was before requests were)."""
    now = timezone.now()
    rows = []
    for lead, other in pairs:
        if rng.random() >= 0.5:
            continue
        for _ in range(rng.choice([1, 1, 2])):
            asking, asked = (other, lead) if rng.random() < 0.6 else (lead, other)
            requested = min(
                now - timedelta(minutes=1), lead.valid_from + timedelta(days=rng.randint(0, 300))
            )
            status = rng.choices(
                ["answered", "refused", "withdrawn", "open"], weights=[6, 2, 1, 2]
            )[0]
            decided = (
                None
                if status == "open"
                else min(
                    now, requested + timedelta(days=rng.randint(0, 30), hours=rng.randint(1, 9))
                )
            )
            rows.append(
                InformationRequest(
                    case=lead.case,
                    from_participant=asking,
                    to_participant=asked,
                    question="synthetic",
                    purpose="synthetic",
                    legal_basis=rng.choice(terms["legal_basis"]),
                    due_at=requested + timedelta(days=14),
                    requested_by=asker,
                    requested_at=requested,
                    status=status,
                    decided_by=asker if decided else None,
                    decided_at=decided,
                )
            )
    InformationRequest.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def outcomes_build(*, seed: int = 7, batch: int = 5000) -> dict[str, int]:
    """Judgements, consents, follow-ups and phases reached for the generated cases that
    have no assessment (a benchmark database generated before issue 20)."""
    author = User.objects.filter(username__startswith="statsgen").order_by("pk").first()
    if author is None:
        raise RuntimeError("outcomes need generated cases: generate cases first (--cases)")
    judged = Assessment.objects.values("case")
    pending = list(
        Case.objects.filter(number__startswith="SG-").exclude(pk__in=judged).order_by("pk")
    )
    outcomes, made = _Outcomes(author), {}
    with transaction.atomic():
        for start in range(0, len(pending), batch):
            chunk = pending[start : start + batch]
            for key, n in outcomes.make(chunk, random.Random(seed + start + 3)).items():
                made[key] = made.get(key, 0) + n
    forget_built_months()
    return made


def _in_proportion(categories: list, count: int, rng: random.Random) -> list:
    """``count`` caller categories in exactly the seed's proportions (largest remainders),
    shuffled."""
    weights = CALLER_WEIGHTS[: len(categories)] + [1] * max(0, len(categories) - 7)
    total = sum(weights)
    shares = [count * w / total for w in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[: count - sum(counts)]:
        counts[i] += 1
    drawn = [category for category, n in zip(categories, counts, strict=True) for _i in range(n)]
    rng.shuffle(drawn)
    return drawn


def _dangers(contacts, hotline, staff, rng) -> int:
    """About one contact in eight showed a danger: the hotline's procedure asked for a
    disclosure, which was mostly sent (a second person approved), sometimes not. A random
    stream of its own, so the other figures stay as they were."""
    protocol = next(
        (
            p
            for p in Protocol.objects.filter(status=Protocol.Status.ACTIVE)
            if hotline.type.code in p.parties
        ),
        None,
    )
    if protocol is None:
        return 0
    rules = [r for r in protocol.parsed_rules() if r.event in HOTLINE_EVENTS]
    bases = {t.code: t for t in Term.objects.filter(kind="legal_basis")}
    recipients = {
        rule.code: list(
            Organisation.objects.filter(active=True, type__code=rule.recipient.organisation_type)
            if rule.recipient.organisation_type
            else Organisation.objects.filter(active=True, type__sector__code=rule.recipient.sector)
        )
        for rule in rules
    }
    rules = [r for r in rules if recipients[r.code]]
    if not rules:
        return 0
    chosen = [(c, rng.choice(rules)) for c in contacts if rng.random() < 0.125]
    events = ContactEvent.objects.bulk_create(
        [
            ContactEvent(
                contact=contact,
                code=rule.event,
                protocol=protocol,
                recorded_by=staff[0],
                recorded_at=contact.ended_at,
            )
            for contact, rule in chosen
        ]
    )
    disclosures = []
    for event, (contact, rule) in zip(events, chosen, strict=True):
        sent = rng.random() < 0.85
        decided = contact.ended_at + timedelta(minutes=rng.randint(10, 600))
        disclosures.append(
            ContactDisclosure(
                contact=contact,
                event=event,
                protocol=protocol,
                rule=rule.code,
                duty=rule.obligation,
                recipient=rng.choice(recipients[rule.code]),
                recipient_sector=rule.recipient.sector or "",
                categories=list(rule.categories),
                legal_basis=bases[rule.legal_basis],
                due_at=contact.ended_at + timedelta(hours=4),
                excerpt="Synthetic disclosure for benchmarks.",
                purpose="Synthetic.",
                justification="Synthetic.",
                requested_by=staff[0],
                requested_at=contact.ended_at,
                approver=staff[1],
                status="sent" if sent else "cancelled",
                decided_by=staff[1] if sent else None,
                decided_at=decided if sent else None,
                note="" if sent else "Synthetic: averted otherwise.",
                created_at=contact.ended_at,
            )
        )
    ContactDisclosure.objects.bulk_create(disclosures, batch_size=1000)
    return len(disclosures)


def entries_build(*, count: int, author, seed: int = 7, batch: int = 5000) -> int:
    """Add ``count`` entries spread over the existing cases, each written by one of the
    case's participating organisations in a random information category."""

    rng = random.Random(seed)
    seats = list(Participant.objects.values_list("case_id", "organisation_id", "case__opened_at"))
    if not seats:
        raise RuntimeError("entries need cases: generate cases first (--cases)")
    categories = list(Term.objects.filter(kind="information_category", active=True))
    today = timezone.localdate()
    with transaction.atomic():
        for start in range(0, count, batch):
            rows = []
            for _ in range(start, min(count, start + batch)):
                case_id, organisation_id, opened = rng.choice(seats)
                age = max(0, (today - timezone.localdate(opened)).days)
                rows.append(
                    Entry(
                        case_id=case_id,
                        author=author,
                        author_organisation_id=organisation_id,
                        category=rng.choice(categories),
                        kind=rng.choice(ENTRY_KINDS),
                        occurred_on=today - timedelta(days=rng.randint(0, age)),
                        title="synthetic entry",
                        text="synthetic text " * rng.randint(1, 20),
                    )
                )
            Entry.objects.bulk_create(rows, batch_size=1000)
    return count


def seat_members(usernames: list[str], *, per_user: int = 100, seed: int = 7) -> dict[str, int]:
    """Seat named users in up to ``per_user`` generated cases of their organisations (with
    their role's default reading and writing scope), so that a load test's personas open
    case pages at volume; returns the seats given per user. One audit event for the batch.
    """

    rng = random.Random(seed)
    given = {}
    with transaction.atomic():
        for username in usernames:
            user = User.objects.get(username=username)
            organisations = user.memberships.values_list("organisation_id", flat=True)
            seats = list(
                Participant.objects.filter(
                    organisation_id__in=organisations, case__number__startswith="SG-"
                ).select_related("role", "organisation__type__sector")
            )
            chosen = rng.sample(seats, min(per_user, len(seats)))
            for seat in chosen:
                seat.members.add(user)
                read, write = default_scope(seat.role, seat.organisation)
                seat.read_categories.add(*read)
                seat.write_categories.add(*write)
            given[username] = len(chosen)
        audit_record(actor=None, action="demo.generate_seats", details=given)
    return given


# -- outcomes (issue 20): judgements at intake, reviews and closure, and follow-ups -------

# the change of a level from intake to closure (-1 … +2), weighted by the furthest phase a
# closed case reached: counselling that got further ends better more often, most cases
# modestly, some unchanged or worse
CLOSURE_STEPS = (-1, 0, 1, 2)
STEP_WEIGHTS = {
    "intake": (15, 55, 25, 5),
    "assessment": (12, 45, 35, 8),
    "counselling": (10, 35, 45, 10),
    "stabilisation": (6, 25, 52, 17),
}
# furthest phase before closure (5 %: closed before the record of phases began)
REACHED_WEIGHTS = {"intake": 10, "assessment": 15, "counselling": 45, "stabilisation": 25, "": 5}


class _Outcomes:
    """Assessments (each an entry of its dimensions' category), ratings, consent to
    follow-up, follow-ups and the furthest phase reached, for a batch of generated cases.
    From an ``rng`` of its own, so that everything else generated stays as it was."""

    def __init__(self, author):
        self.author = author
        self.dimensions = list(
            Term.objects.filter(kind="outcome_dimension", active=True).order_by("position", "code")
        )
        codes = {d.attributes.get("category") for d in self.dimensions}
        categories = {t.code: t for t in Term.objects.filter(kind="information_category")}
        self.by_category = [
            (categories[code], [d for d in self.dimensions if d.attributes.get("category") == code])
            for code in sorted(c for c in codes if c in categories)
        ]
        model = CooperationModel.objects.order_by("-loaded_at").first()
        self.months = list(
            ((model.settings or {}) if model else {}).get("follow_up_months", [6, 12])
        )
        self.today = timezone.localdate()
        self.now = timezone.now()

    @staticmethod
    def _top(dimension) -> int:
        return len(dimension.attributes.get("levels", [])) - 1

    def _intake_level(self, dimension, rng) -> int:
        top = self._top(dimension)
        # radicalisation: mostly far from the goal at intake; the situation: anywhere
        if dimension.attributes.get("group") == "radicalisation":
            weights = [max(1, 4 - i) ** 2 for i in range(top + 1)]
            return rng.choices(range(top + 1), weights=weights)[0]
        return rng.randint(0, top)

    def make(self, cases, rng: random.Random) -> dict[str, int]:
        if not self.dimensions:
            return {}
        entries, assessments, ratings = (
            [],
            [],
            [],
        )  # parallel: entry, (case, occasion, day, follow_up), levels
        consents, follow_ups, done, reached = [], [], [], []
        for case in cases:
            opened = timezone.localtime(case.opened_at).date()
            closed = timezone.localtime(case.closed_at).date() if case.closed_at else None
            last = min(self.today, closed or self.today)
            if closed is None:
                phase = case.phase
            else:
                phase = rng.choices(list(REACHED_WEIGHTS), weights=list(REACHED_WEIGHTS.values()))[
                    0
                ]
            if phase:
                reached.append(PhaseReached(case=case, phase=phase))
            steps = STEP_WEIGHTS.get(phase or "counselling")
            levels = {}
            if rng.random() < 0.9:  # intake judged (mostly in the first weeks)
                day = min(last, opened + timedelta(days=rng.randint(0, 21)))
                levels = {
                    d.pk: self._intake_level(d, rng) for d in self.dimensions if rng.random() < 0.92
                }
                self._assess(case, "intake", day, levels, entries, assessments, ratings)
            span = (last - opened).days
            for review in range(
                rng.choices([0, 1, 2], weights=[45, 35, 20])[0] if span > 120 else 0
            ):
                day = opened + timedelta(days=span * (review + 1) // 3)
                moved = {
                    pk: max(0, min(self._top_of(pk), level + rng.choice((0, 0, 1))))
                    for pk, level in levels.items()
                }
                self._assess(case, "review", day, moved, entries, assessments, ratings)
            if closed is None:
                continue
            after = {}
            if rng.random() < 0.8:  # judged at closure
                day = max(opened, closed - timedelta(days=rng.randint(0, 10)))
                for d in self.dimensions:
                    before = levels.get(d.pk)
                    if before is not None and rng.random() < 0.95:
                        step = rng.choices(CLOSURE_STEPS, weights=steps)[0]
                        after[d.pk] = max(0, min(self._top(d), before + step))
                    elif before is None and rng.random() < 0.5:
                        after[d.pk] = self._intake_level(d, rng)
                self._assess(case, "closure", day, after, entries, assessments, ratings)
            if rng.random() >= 0.7:
                continue  # nobody recorded asking about follow-ups
            given = rng.random() < 0.65
            withdrawn = None
            if given and rng.random() < 0.07:
                withdrawn = min(self.now, case.closed_at + timedelta(days=rng.randint(30, 300)))
            consents.append(
                FollowUpConsent(
                    case=case,
                    given=given,
                    note="Synthetic answer for benchmarks.",
                    recorded_by=self.author,
                    recorded_at=case.closed_at,
                    withdrawn_at=withdrawn,
                )
            )
            if not given:
                continue
            base = after or levels
            for months in self.months:
                due = add_months(closed, months)
                if withdrawn is not None and timezone.localtime(withdrawn).date() < due:
                    status = "cancelled"
                elif due > self.today:
                    status = "planned"
                else:
                    status = rng.choices(["done", "not_reached", "planned"], weights=[60, 25, 15])[
                        0
                    ]
                follow_up = FollowUp(
                    case=case,
                    due_on=due,
                    status=status,
                    scheduled_by=self.author,
                    scheduled_at=case.closed_at,
                    done_by=self.author if status in ("done", "not_reached") else None,
                    done_at=self.now if status in ("done", "not_reached") else None,
                )
                follow_ups.append(follow_up)
                if status == "done":
                    later = {
                        pk: max(
                            0,
                            min(
                                self._top_of(pk),
                                level + rng.choices((-1, 0, 1), weights=(15, 65, 20))[0],
                            ),
                        )
                        for pk, level in base.items()
                        if rng.random() < 0.9
                    }
                    day = min(self.today, due + timedelta(days=rng.randint(0, 20)))
                    done.append((follow_up, case, day, later))
        FollowUpConsent.objects.bulk_create(consents, batch_size=1000)
        FollowUp.objects.bulk_create(follow_ups, batch_size=1000)
        PhaseReached.objects.bulk_create(reached, batch_size=1000, ignore_conflicts=True)
        for follow_up, case, day, later in done:
            self._assess(case, "follow_up", day, later, entries, assessments, ratings, follow_up)
        Entry.objects.bulk_create(entries, batch_size=1000)
        rows = [
            Assessment(
                entry=entry, case=case, occasion=occasion, assessed_on=day, follow_up=follow_up
            )
            for entry, (case, occasion, day, follow_up) in zip(entries, assessments, strict=True)
        ]
        Assessment.objects.bulk_create(rows, batch_size=1000)
        Rating.objects.bulk_create(
            [
                Rating(assessment=assessment, dimension_id=pk, level=level)
                for assessment, levels in zip(rows, ratings, strict=True)
                for pk, level in levels.items()
            ],
            batch_size=2000,
        )
        return {
            "assessments": len(rows),
            "follow_ups": len(follow_ups),
            "follow_up_consents": len(consents),
        }

    def _top_of(self, pk: int) -> int:
        return next(self._top(d) for d in self.dimensions if d.pk == pk)

    def _assess(self, case, occasion, day, levels, entries, assessments, ratings, follow_up=None):
        """One assessment per information category of the dimensions judged."""
        for category, dimensions in self.by_category:
            judged = {d.pk: levels[d.pk] for d in dimensions if d.pk in levels}
            if not judged:
                continue
            entries.append(
                Entry(
                    case=case,
                    kind=Entry.Kind.ASSESSMENT,
                    category=category,
                    author=self.author,
                    author_organisation_id=case.owner_id,
                    occurred_on=day,
                    title="synthetic assessment",
                    text="Synthetic judgement for benchmarks.",
                )
            )
            assessments.append((case, occasion, day, follow_up))
            ratings.append(judged)


# first names for synthetic people (person matches at volume): any, as long as fixed
PERSON_FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hamza"]


def synthetic_person(number: int) -> dict[str, str]:
    """Person ``number``'s name and date of birth: the same in every installation that
    makes them, so two installations can share some people and not others."""
    born = date(1980, 1, 1) + timedelta(days=(number * 7919) % 12000)
    # the number in letters: a person match compares the letters of names only
    letters = "".join("abcdefghij"[int(digit)] for digit in f"{number:07d}")
    return {
        "first_name": PERSON_FIRST_NAMES[number % len(PERSON_FIRST_NAMES)],
        "last_name": f"Synth-{letters}",
        "date_of_birth": born.isoformat(),
    }


def identified_cases_build(
    *, owner: Organisation, people: range, prefix: str = "ID", batch: int = 5000
) -> int:
    """One open case of ``owner`` for each person number in ``people``, with the person's
    name and date of birth encrypted as any identity is and its blind ``identity_index``
    (what a person match digests). No participants, entries or events: volume for matches."""
    now = timezone.now()
    made = 0
    for start in range(people.start, people.stop, batch):
        rows = []
        for number in range(start, min(people.stop, start + batch)):
            person = synthetic_person(number)
            rows.append(
                Case(
                    number=f"{prefix}-{number:08d}",
                    owner=owner,
                    pseudonym=f"S{number}",
                    opened_at=now,
                    identity_index=identity_index(**person),
                    **person,
                )
            )
        with transaction.atomic():
            made += len(Case.objects.bulk_create(rows, batch_size=1000))
    return made
