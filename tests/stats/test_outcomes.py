"""Outcome statistics (issue 20, part 3): the figures of a small network built by hand
through the services, read back through the API and the page; small cells hidden on the
page, in the API and in the report; a year without judgements said so in English and
German; the monthly figures and the phase reached kept in step by the writes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext
from pypdf import PdfReader

from casebridge.audit.models import AuditEvent
from casebridge.cases import services as case_services
from casebridge.cases.models import Case
from casebridge.cooperation_models.models import Term
from casebridge.outcomes import services as outcome_services
from casebridge.outcomes.models import FollowUp
from casebridge.outcomes.services import RatingIn
from casebridge.stats import aggregates, indicators, selectors
from casebridge.stats.models import OutcomeFigures, PhaseReached, StaleOutcomeMonth
from casebridge.stats.registry import READABLE, QueryRecorder
from tests.builders import org, term

pytestmark = pytest.mark.django_db

CLOSED_DAYS_AGO = 200  # so that the first follow-up (six months on) is due today
OPENED_DAYS_AGO = 300
CHANGE = ["better", "unchanged", "worse", "not judged at both"]


class Network:
    """Six cases of the Hamburg NGO (the partner persona leads them), closed 200 days ago:

    A  intake (twice: the earlier counts) and closure (twice: the later counts), counselling
       reached; disengagement 0 → 2, network ties 1 → 1; followed up: disengagement 3,
       network ties 0
    B  disengagement 1 → 1; stabilisation; refused follow-ups
    C  disengagement 2 → 1; assessment; nobody recorded asking about follow-ups
    D  disengagement 1 at intake only; never left intake; agreed, the first follow-up did
       not reach the person, the second is still to come
    E  never judged; agreed, then withdrew
    F  never judged; closed before the phase record began (its row removed)
    """

    def __init__(self, personas):
        self.partner = personas.partner
        self.today = timezone.localdate()
        self.cases = {name: self._open(name) for name in "ABCDEF"}
        self.closed_at = timezone.now() - timedelta(days=CLOSED_DAYS_AGO)
        self.year = timezone.localtime(self.closed_at).year
        a, b, c, d, e, f = self.cases.values()
        self._assess(a, "intake", 290, disengagement=0, network_ties=1)
        self._assess(a, "intake", 280, disengagement=1)  # later: not the intake
        self._assess(b, "intake", 290, disengagement=1)
        self._assess(c, "intake", 290, disengagement=2)
        self._assess(d, "intake", 290, disengagement=1)
        for case, phase in ((a, "counselling"), (b, "stabilisation"), (c, "assessment")):
            case_services.case_update(actor=self.partner, case=case, phase="assessment")
            case_services.case_update(actor=self.partner, case=case, phase=phase)
        case_services.case_update(actor=self.partner, case=b, phase="counselling")  # moved back
        self._assess(a, "closure", 215, disengagement=1, network_ties=0)  # earlier: not it
        self._assess(a, "closure", 210, disengagement=2, network_ties=1)
        self._assess(b, "closure", 210, disengagement=1)
        self._assess(c, "closure", 210, disengagement=1)
        reason = term("case_closing_reason", "goals_reached")
        for case in self.cases.values():
            case_services.case_close(actor=self.partner, case=case, closing_reason=reason)
        # the closing 200 days back: written past the signals, as a bulk load would
        Case.objects.filter(pk__in=[c.pk for c in self.cases.values()]).update(
            closed_at=self.closed_at
        )
        aggregates.forget_built_months()
        PhaseReached.objects.filter(case=f).delete()
        for case in (a, d, e):
            case.refresh_from_db()
            outcome_services.follow_up_plan(actor=self.partner, case=case, consent=True, note="Ja")
        b.refresh_from_db()
        outcome_services.follow_up_plan(actor=self.partner, case=b, consent=False, note="Nein")
        outcome_services.follow_up_withdraw(actor=self.partner, case=e)
        self.follow_up(a, reached=True, disengagement=3, network_ties=0)
        self.follow_up(d, reached=False)

    def _open(self, name: str) -> Case:
        case = case_services.case_open(
            actor=self.partner, owner=org(self.partner), pseudonym=f"Fall {name}"
        )
        Case.objects.filter(pk=case.pk).update(
            opened_at=timezone.now() - timedelta(days=OPENED_DAYS_AGO)
        )
        case.refresh_from_db()
        return case

    def _assess(self, case, occasion: str, days_ago: int, **levels):
        outcome_services.assessment_record(
            actor=self.partner,
            case=case,
            occasion=occasion,
            ratings=[RatingIn(code, level) for code, level in levels.items()],
            rationale="Begründung der Einschätzung.",
            assessed_on=self.today - timedelta(days=days_ago),
        )

    def follow_up(self, case, *, reached: bool, **levels):
        due = FollowUp.objects.filter(case=case, status="planned").order_by("due_on").first()
        return outcome_services.follow_up_result(
            actor=self.partner,
            follow_up=due,
            reached=reached,
            ratings=[RatingIn(code, level) for code, level in levels.items()],
            rationale="Nachgespräch." if reached else "",
        )


@pytest.fixture
def network(personas):
    return Network(personas)


@pytest.fixture
def every_figure(monkeypatch):
    """k = 1: nothing is small, every figure is published (to read the counts exactly)."""
    monkeypatch.setattr(selectors, "threshold", lambda: 1)


def _table(client, code: str, **query) -> dict:
    response = client.get(f"/api/v1/stats/indicators/{code}", query)
    assert response.status_code == 200, response.content
    return response.json()


def _rows(item: dict) -> dict[str, list]:
    return {
        label: [cell["value"] for cell in line]
        for label, line in zip(item["rows"], item["cells"], strict=True)
    }


def _label(code: str) -> str:
    return Term.objects.get(kind="outcome_dimension", code=code).label


def test_the_figures_of_a_hand_built_network_through_the_api(network, personas, every_figure):
    client = personas.client(personas.coordinator)
    year = network.year
    closure = _table(client, "outcome_change_at_closure", year=year)
    assert closure["rows"][0] == _label("disengagement")  # the top-level result first
    assert closure["columns"] == CHANGE
    rows = _rows(closure)
    assert rows[_label("disengagement")] == [1, 1, 1, 3]  # A better, B same, C worse
    assert rows[_label("network_ties")] == [0, 1, 0, 5]  # A: the later closure counts
    assert rows[_label("housing")] == [0, 0, 0, 6]
    assert [v["value"] for v in closure["row_totals"]] == [6] * len(closure["rows"])
    later = _rows(_table(client, "outcome_change_at_follow_up", year=year))
    assert later[_label("disengagement")] == [1, 0, 0, 5]  # A: 0 at intake, 3 later
    assert later[_label("network_ties")] == [0, 0, 1, 5]
    phase = _rows(_table(client, "outcome_top_by_phase", year=year))
    assert phase == {
        "intake": [0, 0, 0, 2],  # D judged at intake only, E never
        "assessment": [0, 0, 1, 0],
        "counselling and dialogue": [1, 0, 0, 0],
        "stabilisation": [0, 1, 0, 0],  # B moved back to counselling: the furthest counts
        "not recorded": [0, 0, 0, 1],
    }
    partner = _rows(_table(client, "outcome_top_by_partner_type", year=year))
    assert partner == {
        "Counselling (NGO-led)": [1, 1, 1, 3],
        "Counselling (state-led)": [0, 0, 0, 0],
        "other": [0, 0, 0, 0],
    }
    opened = timezone.localtime(timezone.now() - timedelta(days=OPENED_DAYS_AGO)).year
    by_year = _rows(_table(client, "outcome_top_by_intake_year", year=year))
    assert list(by_year) == [str(year), str(year - 1), str(year - 2), f"{year - 3} or earlier"]
    assert by_year[str(opened)] == [1, 1, 1, 3]
    states = _rows(_table(client, "follow_up_state", year=year))
    assert states == {
        "no answer on follow-up recorded": [2],  # C, F
        "follow-up refused or consent withdrawn": [2],  # B, E
        "agreed, follow-up to come": [1],  # D: the second is still planned
        "reached at a follow-up": [1],  # A
        "agreed, not reached": [0],
    }
    # the whole network's only: a state's dashboard leaves them out, and asking for one
    # with a state names the field
    by_state = client.get("/api/v1/stats/indicators", {"year": year, "state": "DE-HH"}).json()
    assert not [i for i in by_state["indicators"] if i["code"].startswith("outcome_")]
    response = client.get(
        "/api/v1/stats/indicators/outcome_change_at_closure", {"year": year, "state": "DE-HH"}
    )
    assert response.status_code == 422 and "state" in response.json()["fields"]
    # the partner's own scope is its organisation's cases: the same
    own = personas.client(personas.partner)
    assert _rows(_table(own, "outcome_change_at_closure", year=year)) == rows


def test_the_page_shows_the_outcome_tables_with_their_caveats(network, personas, every_figure):
    client = personas.client(personas.coordinator)
    response = client.get("/stats/", {"year": network.year})
    html = response.content.decode()
    for code in (i.code for i in indicators.INDICATORS if i.group == "outcomes"):
        assert f'id="ind-{code}"' in html
    assert "Outcomes of closed cases" in html
    for caveat in ("There is no control group", "professional judgements, not measurements"):
        assert caveat in html
    assert "Selection: only cases judged on a dimension at both points" in html
    assert "The top-level result is “Disengagement from violence”" in html
    body = _table(client, "follow_up_state", year=network.year)
    assert any("no control group" in text for text in body["caveats"])
    assert body["notices"] == []


def test_a_write_shows_at_the_next_read(network, personas, every_figure):
    """Always current: a follow-up recorded after the figures were built counts at once."""
    client = personas.client(personas.coordinator)
    before = _rows(_table(client, "follow_up_state", year=network.year))
    assert before["agreed, not reached"] == [0]
    assert not StaleOutcomeMonth.objects.exists()
    d = network.cases["D"]
    FollowUp.objects.filter(case=d, status="planned").update(due_on=network.today)
    network.follow_up(d, reached=False)  # the second ends without reaching the person too
    assert StaleOutcomeMonth.objects.exists()
    after = _rows(_table(client, "follow_up_state", year=network.year))
    assert after["agreed, not reached"] == [1]
    assert after["agreed, follow-up to come"] == [0]
    assert not StaleOutcomeMonth.objects.exists()


def test_small_cells_are_hidden_on_the_page_in_the_api_and_in_the_report(network, personas):
    client = personas.client(personas.coordinator)
    year = network.year
    closure = _table(client, "outcome_change_at_closure", year=year)
    cells = {
        label: [(cell["value"], cell["status"]) for cell in line]
        for label, line in zip(closure["rows"], closure["cells"], strict=True)
    }
    top = cells[_label("disengagement")]
    assert top[:3] == [(None, "suppressed")] * 3  # 1, 1 and 1: below k = 5
    for line in closure["cells"]:
        for cell in line:
            assert cell["value"] is None or cell["value"] == 0 or cell["value"] >= 5
    page = client.get("/stats/", {"year": year})
    item = next(i for i in page.context["board"].indicators if i.code == closure["code"])
    assert [v.value for v in item.table.cells[0][:3]] == [None, None, None]
    html = page.content.decode()
    section = html[html.index('id="ind-outcome_change_at_closure"') :]
    section = section[: section.index("</section>")]
    row = section[section.index(f'<th scope="row">{_label("disengagement")}</th>') :]
    row = row[: row.index("</tr>")]
    assert row.count("•") >= 3 and ">1<" not in row
    pdf = client.get("/stats/", {"year": year, "format": "pdf"})
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    after = text[text.index("Change from intake to closure, by outcome dimension") :]
    # the label is the chart's first (its bar: the cases better, hidden), then the table's;
    # each value on a line of its own
    lines = [line.strip() for line in after.splitlines()]
    label = _label("disengagement")
    chart, row = [i for i, line in enumerate(lines) if line == label][:2]
    assert lines[chart + 1] == "•"
    assert lines[row + 1 : row + 4] == ["•", "•", "•"]


def test_the_report_writes_the_caveats_beside_the_outcome_figures(network, personas):
    client = personas.client(personas.coordinator)
    pdf = client.get("/stats/", {"year": network.year, "format": "pdf"})
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split()
    )
    heading = text.index("Outcomes of closed cases: read with care")
    first_table = text.index("Change from intake to closure, by outcome dimension")
    caveats = text[heading:first_table]
    assert "There is no control group" in caveats
    assert "only cases judged on a dimension at both points" in caveats
    assert "not measurements" in caveats


NO_DATA = "No outcome assessments were recorded for cases closed in %(year)d: none was judged both at intake and at closure."  # noqa: E501


def _as(personas, language: str):
    user = personas.coordinator
    user.language = language
    user.save(update_fields=["language"])
    return personas.client(user)


def _no_data(language: str, year: int) -> str:
    with translation.override(language):
        return gettext(NO_DATA) % {"year": year}


def _pdf_words(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_year_without_judgements_says_so_naming_the_year(personas, language):
    """2019 holds nothing: the API and the page say that no outcome was judged, naming the
    year; the report of a year without any figure is refused, naming the year; nothing
    changes."""
    client = _as(personas, language)
    cases_before = Case.objects.count()
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    expected = _no_data(language, 2019)
    response = client.get("/api/v1/stats/indicators", {"year": 2019})
    assert response.status_code == 200
    assert response.json()["notices"] == [{"field": "year", "message": expected}]
    one = _table(client, "outcome_top_by_phase", year=2019)
    assert one["notices"] == [{"field": "year", "message": expected}]
    assert _table(client, "contacts_by_channel", year=2019)["notices"] == []
    page = client.get("/stats/", {"year": 2019})
    html = page.content.decode()
    assert f'<html lang="{language}">' in html
    assert expected in html
    pdf = client.get("/api/v1/stats/export", {"year": 2019, "format": "pdf"})
    assert pdf.status_code == 422
    with translation.override(language):
        refusal = gettext("Nothing was recorded in %(year)d: there is no figure to report.")
    assert pdf.json()["fields"]["year"] == [refusal % {"year": 2019}]
    assert Case.objects.count() == cases_before  # nothing changed but the reads' record
    assert set(AuditEvent.objects.filter(id__gt=last_event).values_list("action", flat=True)) <= {
        "stats.api",
        "stats.dashboard",
    }


@pytest.mark.parametrize("language", ["en", "de"])
def test_closed_cases_without_judgements_are_said_so_in_the_report(personas, language):
    partner = personas.partner
    reason = term("case_closing_reason", "client_ended")
    for name in "ABCDEF":
        case = case_services.case_open(actor=partner, owner=org(partner), pseudonym=f"Fall {name}")
        case_services.case_close(actor=partner, case=case, closing_reason=reason)
    year = timezone.localdate().year
    client = _as(personas, language)
    expected = _no_data(language, year)
    assert client.get("/api/v1/stats/indicators", {"year": year}).json()["notices"] == [
        {"field": "year", "message": expected}
    ]
    pdf = client.get("/stats/", {"year": year, "format": "pdf"})
    assert pdf.status_code == 200
    assert " ".join(expected.split()) in _pdf_words(pdf.content)
    # a judgement at closure alone compares nothing: the sentence stays
    outcome_services.assessment_record(
        actor=partner,
        case=Case.objects.filter(owner=org(partner)).first(),
        occasion="closure",
        ratings=[RatingIn("disengagement", 1)],
        rationale="Begründung.",
    )
    notices = client.get("/api/v1/stats/indicators", {"year": year}).json()["notices"]
    assert notices == [{"field": "year", "message": expected}]


def test_no_notice_where_judgements_exist_or_are_hidden(network, personas):
    client = personas.client(personas.coordinator)
    body = client.get("/api/v1/stats/indicators", {"year": network.year}).json()
    assert body["notices"] == []  # judged cases exist (hidden as small: still no notice)


def test_the_furthest_phase_is_kept_while_the_case_is_open(personas):
    partner = personas.partner
    case = case_services.case_open(actor=partner, owner=org(partner), pseudonym="Fall P")
    assert PhaseReached.objects.get(case=case).phase == "intake"
    case_services.case_update(actor=partner, case=case, phase="stabilisation")
    case_services.case_update(actor=partner, case=case, phase="assessment")
    assert PhaseReached.objects.get(case=case).phase == "stabilisation"
    reason = term("case_closing_reason", "other")
    case_services.case_close(actor=partner, case=case, closing_reason=reason)
    assert PhaseReached.objects.get(case=case).phase == "stabilisation"
    assert StaleOutcomeMonth.objects.exists()  # its closing month is counted again


def test_outcome_statistics_read_only_registered_columns(network):
    """The outcome figures are built through the registry like every indicator: no
    rationale (the entry's text), no consent note."""
    assert "note" not in READABLE["outcomes.FollowUpConsent"]
    assert "entry" not in READABLE["outcomes.Assessment"]
    period = selectors.period_of(network.year)
    recorder = QueryRecorder()
    with connection.execute_wrapper(recorder):
        for indicator in indicators.INDICATORS:
            if indicator.group == "outcomes":
                indicator.compute(indicators.Filters(period.start, period.end))
    statements = " ".join(recorder.statements)
    assert "outcomes_rating" in statements and "outcomes_followupconsent" in statements
    assert set().union(*recorder.unregistered().values()) == set()
    assert OutcomeFigures.objects.exists()


def test_a_model_without_outcome_dimensions_offers_no_outcome_tables(personas):
    Term.objects.filter(kind="outcome_dimension").update(active=False)
    board = selectors.dashboard(personas.coordinator)
    assert board.indicators
    assert not [item for item in board.indicators if item.group == "outcomes"]
