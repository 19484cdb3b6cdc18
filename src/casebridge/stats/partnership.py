"""The network's own figures for partnership health (issue 20): contact points, meetings,
lessons learned.

They describe the organisations of the network and their work together, not anybody's
case: who is the contact point for what, which organisations came to the meetings, which
lessons led to a change of procedure. So they need no disclosure control and are shown to
whoever may see the network's statistics (``selectors.partnership``). They never carry a
person: contact points count as filled or not (the name behind one is not even read),
attendance is counted per organisation, lessons by their outcome.

The case-derived partnership figures (flows between sectors, obligations per pair of
organisation types, handovers) are indicators in ``indicators.py`` and pass disclosure
control with every other table of the year.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from casebridge.accounts.models import Membership, Role
from casebridge.labels import pick_label
from casebridge.network.models import ContactPoint, Lesson, Meeting, Organisation
from casebridge.network.models import Invitation as MeetingInvitation
from casebridge.sharing.models import Protocol

CONTACT_POINTS_DEFINITION = _(
    "Contact points of the active organisations, per organisation type. A function is an "
    "organisation's contact point for one task (its name as entered). It has nobody on a "
    "day when none of the organisation's contact points for it is in force that day with a "
    "person who is a member of the organisation (and whose account is on) or a named "
    "person without an account. Days are counted from 1 January, or from the function's "
    "first contact point, to 31 December or today; a function stays without anybody until "
    "a new contact point is entered for it."
)
ATTENDANCE_DEFINITION = _(
    "Meetings of the network held in the year (marked as held), per organisation invited: "
    "an organisation was invited when at least one of its members was, and attended when at "
    "least one of them was present. Not recorded: nobody's attendance was entered. The "
    "share attended counts the meetings whose attendance was recorded. Per quarter: "
    "attended of invited."
)
LESSONS_DEFINITION = _(
    "Lessons learned recorded in the year, by how it went. Acted on: a draft of a "
    "procedure was started from the lesson (at any time until today); put into force: a "
    "version drafted from it was activated. Action items of meetings name no lesson and "
    "are not counted."
)


@dataclass
class Vacancies:
    """The contact points of one organisation type over the period."""

    code: str
    label: str
    organisations: int  # active organisations of the type
    without_any: int  # of which have never had a contact point (by the period's end)
    functions: int  # functions of those organisations in the period
    vacant: int  # functions with at least one day without anybody
    days: int  # days without anybody, summed over the functions
    longest: int  # the longest stretch of days without anybody, in the period
    at_end: int  # functions without anybody on the last day counted


@dataclass
class Attendance:
    """One organisation's meetings of the period."""

    code: str
    organisation: str
    organisation_type: str
    invited: int
    attended: int
    unrecorded: int
    quarters: list[tuple[int, int]]  # (attended, invited) per quarter

    @property
    def share(self) -> int | None:
        """Per cent of the meetings with recorded attendance that it attended."""
        recorded = self.invited - self.unrecorded
        return round(100 * self.attended / recorded) if recorded else None


@dataclass
class Lessons:
    """Lessons of one outcome recorded in the period."""

    code: str
    label: str
    recorded: int
    acted_on: int
    in_force: int


@dataclass
class NetworkFigures:
    """Everything of the network (no case) that the partnership page shows."""

    first: date
    last_counted: date  # 31 December, or today for the current year
    vacancies: list[Vacancies]
    attendance: list[Attendance]
    meetings_held: dict[str, int]  # meeting kind (its value) -> meetings held
    lessons: list[Lessons]
    definitions: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing was recorded for the period: no function, meeting or lesson."""
        return (
            not any(row.functions for row in self.vacancies)
            and not sum(self.meetings_held.values())
            and not any(row.recorded for row in self.lessons)
        )

    @property
    def meeting_kinds(self) -> list[tuple[str, str]]:
        """(kind, label) of every kind of meeting, in the model's order."""
        return list(Meeting.Kind.choices)

    @property
    def vacancy_total(self) -> Vacancies:
        rows = self.vacancies
        return Vacancies(
            "",
            str(_("all types")),
            sum(r.organisations for r in rows),
            sum(r.without_any for r in rows),
            sum(r.functions for r in rows),
            sum(r.vacant for r in rows),
            sum(r.days for r in rows),
            max((r.longest for r in rows), default=0),
            sum(r.at_end for r in rows),
        )

    @property
    def lessons_total(self) -> Lessons:
        return Lessons(
            "",
            str(_("all lessons")),
            sum(r.recorded for r in self.lessons),
            sum(r.acted_on for r in self.lessons),
            sum(r.in_force for r in self.lessons),
        )


def network_figures(first: date, last: date) -> NetworkFigures:
    """The network's figures for the days ``first`` … ``last`` (a calendar year)."""
    counted = min(last, timezone.localdate())
    start = _midnight(first)
    end = _midnight(last + timedelta(days=1))
    return NetworkFigures(
        first=first,
        last_counted=counted,
        vacancies=contact_point_vacancies(first, counted),
        attendance=meeting_attendance(start, end),
        meetings_held=meetings_held(start, end),
        lessons=lessons_acted_on(start, end),
        definitions={
            "contact_points": str(CONTACT_POINTS_DEFINITION),
            "attendance": str(ATTENDANCE_DEFINITION),
            "lessons": str(LESSONS_DEFINITION),
        },
    )


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


# -- contact points -----------------------------------------------------------------------


def _days(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open day intervals [a, b) as ordinals, sorted and merged."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(i for i in intervals if i[0] < i[1]):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _gaps(covered: list[tuple[int, int]], low: int, high: int) -> list[int]:
    """Lengths of the stretches of [low, high) that ``covered`` (merged) leaves out."""
    gaps, at = [], low
    for start, end in covered:
        if end <= at:
            continue
        if start >= high:
            break
        if start > at:
            gaps.append(start - at)
        at = max(at, end)
    if at < high:
        gaps.append(high - at)
    return gaps


def _local_day(moment: datetime | None) -> int | None:
    return None if moment is None else timezone.localdate(moment).toordinal()


def contact_point_vacancies(first: date, last: date) -> list[Vacancies]:
    """Per organisation type: how long its organisations' functions had nobody between
    ``first`` and ``last`` (both counted)."""
    low, high = first.toordinal(), last.toordinal() + 1
    organisations = list(
        Organisation.objects.filter(active=True)
        .order_by()
        .values("id", "type", "type__position", "type__code", "type__labels")
    )
    points = list(
        ContactPoint.objects.filter(organisation__active=True, since__lte=last)
        .annotate(named=ExpressionWrapper(~Q(name=""), output_field=BooleanField()))
        .order_by()
        .values_list(
            "organisation", "function", "person", "person__is_active", "named", "since", "until"
        )
    )
    # the days each person is a member of each organisation (a guest seat is no membership)
    members: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    people = {point[2] for point in points if point[2]}
    for user, organisation, valid_from, valid_until in (
        Membership.objects.filter(user__in=people)
        .exclude(role=Role.GUEST)
        .order_by()
        .values_list("user", "organisation", "valid_from", "valid_until")
    ):
        until = _local_day(valid_until)
        members[(user, organisation)].append((_local_day(valid_from), until or high))
    functions: dict[tuple[int, str], dict] = {}
    for organisation, function, person, active, named, since, until in points:
        key = (organisation, " ".join(function.split()).casefold())
        entry = functions.setdefault(key, {"from": since.toordinal(), "held": []})
        entry["from"] = min(entry["from"], since.toordinal())
        span = (since.toordinal(), until.toordinal() if until else high)
        if person:
            if active:
                entry["held"] += [
                    (max(span[0], a), min(span[1], b)) for a, b in members[(person, organisation)]
                ]
        elif named:
            entry["held"].append(span)
    by_type: dict[int, dict] = {}
    for row in organisations:
        figures = by_type.setdefault(
            row["type"],
            {
                "position": (row["type__position"], row["type__code"]),
                "code": row["type__code"],
                "label": pick_label(row["type__labels"], fallback=row["type__code"]),
                "organisations": 0,
                "with": set(),
                "functions": 0,
                "vacant": 0,
                "days": 0,
                "longest": 0,
                "at_end": 0,
            },
        )
        figures["organisations"] += 1
    type_of = {row["id"]: row["type"] for row in organisations}
    for (organisation, _function), entry in functions.items():
        figures = by_type[type_of[organisation]]
        figures["with"].add(organisation)
        begin = max(low, entry["from"])
        if begin >= high:
            continue
        figures["functions"] += 1
        covered = _days(entry["held"])
        gaps = _gaps(covered, begin, high)
        if gaps:
            figures["vacant"] += 1
            figures["days"] += sum(gaps)
            figures["longest"] = max(figures["longest"], *gaps)
        if not any(a <= high - 1 < b for a, b in covered):
            figures["at_end"] += 1
    return [
        Vacancies(
            code=figures["code"],
            label=figures["label"],
            organisations=figures["organisations"],
            without_any=figures["organisations"] - len(figures["with"]),
            functions=figures["functions"],
            vacant=figures["vacant"],
            days=figures["days"],
            longest=figures["longest"],
            at_end=figures["at_end"],
        )
        for figures in sorted(by_type.values(), key=lambda f: f["position"])
    ]


# -- meetings -----------------------------------------------------------------------------


def _held(start: datetime, end: datetime):
    return Meeting.objects.filter(
        status=Meeting.Status.HELD, starts_at__gte=start, starts_at__lt=end
    ).order_by()


def meetings_held(start: datetime, end: datetime) -> dict[str, int]:
    """Meetings held in [start, end) by kind, every kind named."""
    counts = {kind: 0 for kind in Meeting.Kind.values}
    for kind in _held(start, end).values_list("kind", flat=True):
        counts[kind] += 1
    return counts


def meeting_attendance(start: datetime, end: datetime) -> list[Attendance]:
    """Per organisation invited to a meeting held in [start, end): invited, attended."""
    invitations = list(
        MeetingInvitation.objects.filter(meeting__in=_held(start, end))
        .order_by()
        .values_list("meeting", "meeting__starts_at", "user", "attended")
    )
    memberships: dict[int, list[tuple]] = defaultdict(list)
    for user, organisation, valid_from, valid_until in (
        Membership.objects.filter(user__in={row[2] for row in invitations})
        .exclude(role=Role.GUEST)
        .order_by()
        .values_list("user", "organisation", "valid_from", "valid_until")
    ):
        memberships[user].append((organisation, valid_from, valid_until))
    # (organisation, meeting) -> [starts_at, anybody present, anybody's attendance recorded]
    seen: dict[tuple[int, int], list] = {}
    for meeting, starts_at, user, attended in invitations:
        for organisation, valid_from, valid_until in memberships[user]:
            if not valid_from <= starts_at or (valid_until and valid_until <= starts_at):
                continue
            entry = seen.setdefault((organisation, meeting), [starts_at, False, False])
            entry[1] = entry[1] or attended is True
            entry[2] = entry[2] or attended is not None
    organisations = {
        row["id"]: row
        for row in Organisation.objects.filter(pk__in={key[0] for key in seen})
        .order_by()
        .values("id", "code", "name", "type__position", "type__code", "type__labels")
    }
    rows: dict[int, Attendance] = {}
    for (organisation, _meeting), (starts_at, present, recorded) in seen.items():
        row = rows.get(organisation)
        if row is None:
            info = organisations[organisation]
            row = rows[organisation] = Attendance(
                code=info["code"],
                organisation=info["name"],
                organisation_type=pick_label(info["type__labels"], fallback=info["type__code"]),
                invited=0,
                attended=0,
                unrecorded=0,
                quarters=[(0, 0)] * 4,
            )
        quarter = (timezone.localtime(starts_at).month - 1) // 3
        attended_before, invited_before = row.quarters[quarter]
        row.quarters[quarter] = (attended_before + present, invited_before + 1)
        row.invited += 1
        row.attended += present
        row.unrecorded += not recorded
    order = {
        key: ((info["type__position"], info["type__code"]), info["name"])
        for key, info in organisations.items()
    }
    return [rows[key] for key in sorted(rows, key=lambda key: order[key])]


# -- lessons learned ----------------------------------------------------------------------


def lessons_acted_on(start: datetime, end: datetime) -> list[Lessons]:
    """Lessons recorded in [start, end) by outcome: how many led to a procedure draft, how
    many to a version put into force."""
    lessons = dict(
        Lesson.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .values_list("id", "outcome")
    )
    drafted, activated = set(), set()
    for lesson, activated_at in (
        Protocol.objects.filter(lesson__in=list(lessons))
        .order_by()
        .values_list("lesson", "activated_at")
    ):
        drafted.add(lesson)
        if activated_at is not None:
            activated.add(lesson)
    rows = []
    for value, label in Lesson.Outcome.choices:
        ids = [lesson for lesson, outcome in lessons.items() if outcome == value]
        rows.append(
            Lessons(
                code=value,
                label=str(label),
                recorded=len(ids),
                acted_on=sum(1 for lesson in ids if lesson in drafted),
                in_force=sum(1 for lesson in ids if lesson in activated),
            )
        )
    return rows


# -- as tables: for the page, the PDF report, the XLSX workbook and the CSV ---------------


@dataclass
class NetworkTable:
    """One of the network's figures as rows of values (a number, a text, or None for
    "nothing to say"), with its definition."""

    code: str
    title: str
    definition: str
    row_heading: str
    columns: list[str]
    rows: list[tuple[str, list]]
    footer: tuple[str, list] | None = None
    note: str = ""


def _share(value: int | None) -> str | None:
    return None if value is None else f"{value} %"


def _quarter(attended: int, invited: int) -> str | None:
    return f"{attended}/{invited}" if invited else None


def network_tables(figures: NetworkFigures) -> list[NetworkTable]:
    """The network's figures as three tables: contact points, attendance, lessons."""
    last_day = date_format(figures.last_counted, "DATE_FORMAT")

    def vacancy_values(row: Vacancies) -> list:
        return [
            row.organisations,
            row.without_any,
            row.functions,
            row.vacant,
            row.days,
            row.longest,
            row.at_end,
        ]

    held = figures.meetings_held
    meetings_note = _("Meetings held: %(total)d (%(kinds)s).") % {
        "total": sum(held.values()),
        "kinds": ", ".join(f"{Meeting.Kind(kind).label} {n}" for kind, n in held.items()),
    }
    return [
        NetworkTable(
            code="contact_points",
            title=str(_("Contact points without anybody")),
            definition=str(CONTACT_POINTS_DEFINITION),
            row_heading=str(_("Organisation type")),
            columns=[
                str(_("Organisations")),
                str(_("of which never with a contact point")),
                str(_("Functions")),
                str(_("Functions with days without anybody")),
                str(_("Days without anybody")),
                str(_("Longest stretch, days")),
                str(_("Without anybody on %(day)s") % {"day": last_day}),
            ],
            rows=[(row.label, vacancy_values(row)) for row in figures.vacancies],
            footer=(str(_("Total")), vacancy_values(figures.vacancy_total)),
        ),
        NetworkTable(
            code="meeting_attendance",
            title=str(_("Attendance at the network's meetings")),
            definition=str(ATTENDANCE_DEFINITION),
            row_heading=str(_("Organisation")),
            columns=[
                str(_("Organisation type")),
                str(_("Invited")),
                str(_("Attended")),
                str(_("Not recorded")),
                str(_("Share attended")),
                *(str(_("Quarter %(number)d") % {"number": n}) for n in range(1, 5)),
            ],
            rows=[
                (
                    row.organisation,
                    [
                        row.organisation_type,
                        row.invited,
                        row.attended,
                        row.unrecorded,
                        _share(row.share),
                        *(_quarter(*quarter) for quarter in row.quarters),
                    ],
                )
                for row in figures.attendance
            ],
            note=str(meetings_note),
        ),
        NetworkTable(
            code="lessons",
            title=str(_("Lessons learned and what came of them")),
            definition=str(LESSONS_DEFINITION),
            row_heading=str(_("How it went")),
            columns=[str(_("Recorded")), str(_("Acted on")), str(_("Put into force"))],
            rows=[
                (row.label, [row.recorded, row.acted_on, row.in_force]) for row in figures.lessons
            ],
            footer=(
                str(_("Total")),
                [
                    figures.lessons_total.recorded,
                    figures.lessons_total.acted_on,
                    figures.lessons_total.in_force,
                ],
            ),
        ),
    ]
