"""Reads for role-play training: scenarios, runs, a participant's feedback, the debrief.

Runs hold no personal data of anybody in a case (the scenarios are fictitious); a run is
shown to its facilitator, its participants and coordinators, and while it is open to any
member of the network who might join it. Everyone else gets 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import active_roles
from casebridge.cooperation_models.models import Term
from casebridge.labels import pick_label
from casebridge.sharing.models import Protocol
from casebridge.sharing.selectors import stored_vocabulary
from casebridge.training import compare
from casebridge.training import review as review_words
from casebridge.training.models import (
    ScenarioReview,
    TrainingAnswer,
    TrainingParticipant,
    TrainingRun,
)
from casebridge.training.scenarios import ScenarioSpec, check_references, load_scenarios


def scenarios() -> list[ScenarioSpec]:
    """The shipped scenarios, in file order."""
    return list(load_scenarios().values())


def scenario(code: str) -> ScenarioSpec | None:
    return load_scenarios().get(code)


def scenario_problems(spec: ScenarioSpec) -> list[str]:
    """Codes of the scenario the loaded cooperation model does not know."""
    return [str(e) for e in check_references(spec, stored_vocabulary())]


def party_label(party) -> str:
    """A party as players pick it: "NGO counsellor (Beratungsstelle Kompass)"."""
    return f"{pick_label(party.label, fallback=party.code)} ({party.organisation})"


def _is_coordinator(actor) -> bool:
    return Role.COORDINATOR in active_roles(actor)


def run_list(actor):
    """Runs the actor facilitates, plays or may join; coordinators see every run."""
    if not active_roles(actor):
        return TrainingRun.objects.none()
    runs = TrainingRun.objects.select_related("facilitator")
    if not _is_coordinator(actor):
        runs = runs.filter(
            Q(facilitator=actor) | Q(participants__user=actor) | Q(status=TrainingRun.Status.OPEN)
        ).distinct()
    return runs.order_by("-created_at")


def access_run(actor, run_id: int) -> TrainingRun:
    """The run if the actor may see it; 404 for missing and hidden alike."""
    run = run_list(actor).filter(pk=run_id).select_related("protocol").first()
    if run is None:
        raise Http404
    return run


def spec_of(run: TrainingRun) -> ScenarioSpec:
    return ScenarioSpec.model_validate(run.scenario)


@dataclass
class Setting:
    """What comparing a run's answers needs: the scenario, the rules, the vocabulary."""

    spec: ScenarioSpec
    rules: list
    vocabulary: object
    roles: compare.Roles
    labels: compare.Labels

    def recipients(self) -> list[tuple[str, str]]:
        """(key, label) of every recipient an answer may name."""
        own = {p.case_role: p for p in self.spec.parties}
        choices = []
        for role in compare.recipient_roles(self.spec, self.vocabulary):
            label = self.labels.role(compare.role_key(role))
            party = own.get(role)
            if party is not None and party.joins_at:
                label = f"{label} – {party.organisation}"
            choices.append((compare.role_key(role), label))
        return choices


@dataclass
class _Model:
    """The loaded model's vocabulary and terms, read once for several scenarios."""

    vocabulary: object
    terms: list


def _model() -> _Model:
    return _Model(
        vocabulary=stored_vocabulary(),
        terms=list(
            Term.objects.filter(kind__in=["case_role", "information_category", "legal_basis"])
        ),
    )


def _setting(spec: ScenarioSpec, rules: list, model: _Model, extra_rules=()) -> Setting:
    roles = [t for t in model.terms if t.kind == "case_role"]
    return Setting(
        spec=spec,
        rules=rules,
        vocabulary=model.vocabulary,
        roles=compare.Roles(
            sectors={t.code: tuple(t.attributes.get("sectors", [])) for t in roles},
            lead=frozenset(t.code for t in roles if t.attributes.get("lead")),
        ),
        labels=compare.Labels(
            roles={t.code: t.labels for t in roles},
            categories={t.code: t.labels for t in model.terms if t.kind == "information_category"},
            legal_bases={t.code: t.labels for t in model.terms if t.kind == "legal_basis"},
            # rules of an older version first: a rule removed since keeps its label
            rules={r.code: (dict(r.label), dict(r.description)) for r in [*extra_rules, *rules]},
            parties={p.code: dict(p.label) for p in spec.parties},
        ),
    )


def setting(run: TrainingRun) -> Setting:
    return _setting(spec_of(run), run.protocol.parsed_rules(), _model())


@dataclass
class Feedback:
    """One participant's answer at one event, compared with the procedure."""

    event_number: int
    flows: list[compare.Flow]
    comparison: compare.Comparison
    explanations: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    expected_rows: list[dict] = field(default_factory=list)
    # what the other parties send at this event: for information, not scored
    others_rows: list[dict] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return self.comparison.correct


def feedback(run_setting: Setting, answer: TrainingAnswer, party: str) -> Feedback:
    """The answer of the player of ``party`` compared with the flows that party sends."""
    flows = [compare.Flow.from_dict(f) for f in answer.flows]
    comparison = compare.compare(
        run_setting.spec,
        answer.event_number,
        flows,
        run_setting.rules,
        run_setting.vocabulary,
        run_setting.roles,
        party=party,
    )
    labels = run_setting.labels
    return Feedback(
        answer.event_number,
        flows,
        comparison,
        [compare.explain(d, labels) for d in comparison.differences],
        [compare.describe(f, labels) for f in flows],
        [compare.describe(f, labels) for f in comparison.expected],
        [compare.describe(f, labels) for f in comparison.others],
    )


def my_participation(actor, run: TrainingRun) -> TrainingParticipant | None:
    return (
        TrainingParticipant.objects.filter(run=run, user=actor).prefetch_related("answers").first()
    )


def participants(run: TrainingRun) -> list[TrainingParticipant]:
    return list(
        TrainingParticipant.objects.filter(run=run)
        .select_related("user")
        .prefetch_related("answers")
    )


@dataclass
class DebriefEvent:
    number: int
    event: object  # EventSpec
    expected: list[dict]
    barriers: list[dict]
    rows: list[tuple[TrainingParticipant, Feedback | None]]


def debrief(actor, run: TrainingRun) -> list[DebriefEvent]:
    """Every event: what the procedure says, and each participant's answer and differences.

    Only for a finished run, so nobody copies another's answer while playing.
    """
    if run.status != TrainingRun.Status.FINISHED:
        raise Http404
    run_setting = setting(run)
    players = participants(run)
    events = []
    for number, event in enumerate(run_setting.spec.events, start=1):
        expected, barriers = compare.expectation(
            run_setting.spec, number, run_setting.rules, run_setting.vocabulary, run_setting.roles
        )
        rows = []
        for player in players:
            answer = next((a for a in player.answers.all() if a.event_number == number), None)
            rows.append((player, feedback(run_setting, answer, player.party) if answer else None))
        labels = run_setting.labels
        events.append(
            DebriefEvent(
                number,
                event,
                [compare.describe(f, labels) for f in expected],
                [compare.describe(f, labels) for f in barriers],
                rows,
            )
        )
    return events


# --- scenarios checked against the version in force -----------------------------------------


def protocol_in_force(code: str) -> Protocol | None:
    """The version of the procedure ``code`` in force today: what a run started now compares
    with. A version activated for a later day is not in force yet (``Protocol.in_force``)."""
    today = timezone.localdate()
    for protocol in Protocol.objects.filter(
        code=code, status=Protocol.Status.ACTIVE, effective_from__lte=today
    ).order_by("-effective_from"):
        if protocol.in_force(today):
            return protocol
    return None


@dataclass
class ReviewStatus:
    """A scenario against the version of its procedure in force, and its latest review."""

    spec: ScenarioSpec
    protocol: Protocol | None  # the version in force; None when the procedure is not active
    review: ScenarioReview | None  # the latest review; None before the first
    expected: list[dict] = field(default_factory=list)  # review.expected_answers, now
    digest: str = ""
    changes: list[review_words.EventChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # codes the loaded model does not know

    @property
    def needs_review(self) -> bool:
        """The version in force expects another answer than the latest review."""
        return (
            self.review is not None
            and self.protocol is not None
            and not self.problems
            and self.digest != self.review.digest
        )

    @property
    def version(self) -> str:
        return self.protocol.version if self.protocol else ""


def latest_reviews(codes) -> dict[str, ScenarioReview]:
    """Scenario code -> its latest review."""
    found: dict[str, ScenarioReview] = {}
    reviews = (
        ScenarioReview.objects.filter(scenario_code__in=list(codes))
        .select_related("protocol", "reviewed_by")
        .order_by("scenario_code", "-reviewed_at", "-id")
    )
    for item in reviews:
        found.setdefault(item.scenario_code, item)
    return found


def review_statuses(specs: list[ScenarioSpec]) -> dict[str, ReviewStatus]:
    """Scenario code -> how it stands against the version of its procedure in force."""
    model = _model()
    reviews = latest_reviews(s.code for s in specs)
    protocols: dict[str, Protocol | None] = {}
    statuses = {}
    for spec in specs:
        if spec.protocol not in protocols:
            protocols[spec.protocol] = protocol_in_force(spec.protocol)
        protocol = protocols[spec.protocol]
        last = reviews.get(spec.code)
        status = ReviewStatus(spec, protocol, last)
        status.problems = [str(e) for e in check_references(spec, model.vocabulary)]
        if protocol is not None and not status.problems:
            rules = protocol.parsed_rules()
            older = last.protocol.parsed_rules() if last and last.protocol_id != protocol.pk else []
            run_setting = _setting(spec, rules, model, older)
            status.expected = review_words.expected_answers(
                spec, rules, run_setting.vocabulary, run_setting.roles
            )
            status.digest = review_words.digest(status.expected)
            if last is not None and last.digest != status.digest:
                status.changes = review_words.changes(
                    spec, last.expected, status.expected, run_setting.labels
                )
        statuses[spec.code] = status
    return statuses


def review_status(spec: ScenarioSpec) -> ReviewStatus:
    return review_statuses([spec])[spec.code]


def scenario_or_404(code: str) -> ScenarioSpec:
    spec = scenario(code)
    if spec is None:
        raise Http404
    return spec


def may_review(actor) -> bool:
    """Coordinators confirm that a scenario still trains what it should."""
    return _is_coordinator(actor)
