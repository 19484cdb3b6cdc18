"""The statistics attacker of issue 14, through the API as a persona would go about it.

For every persona with statistics, the test asks the API for every table it may have:
every scope the dashboard offers it, every calendar year with data, the whole network and
every federal state (every indicator comes in each answer; single indicators and the
exports give the same values, checked below). It then writes each published or hidden
value as a sum of unknown finest counts — an indicator's cell in one state, or in "no
state" — adds what an outsider knows besides (indicators of one population have equal
totals in every state; the cases active in the current year are those closed in it plus
those open at its end; a closed case is in the phase "closure"; the obligations of each
outcome are a column of the table by pair of organisation types and a row of the table by
outcome; a table answered for the whole network but never for a state — partnership
health — is a sum of network-wide unknowns, and its relations hold for the network's
totals; every row of an outcome table by dimension counts every closed case, the tables
of the top-level result split its row at closure, and no more cases are judged at a
follow-up than were reached at one — ``know_outcome_relations``) and, with scipy's HiGHS,
bounds every hidden value whose true count is 1 … k−1. None may be bounded narrower than
k (tests/stats/attacker.py; the worst case is assumed: the attacker knows which hidden
values are not zero).

No relation links two years: contacts count by their start, closed cases by their
closing, obligations by their due date, disclosures by their decision, requests for
information when asked and handovers when made, so each unit falls in one year; what
describes open cases as they are now is published for the current year only. Nor are two
scopes linked for one persona: a persona sees the network or its own organisations, never
both (tests/stats/test_indicators.py).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from django.utils import timezone

from casebridge.cases.models import Phase
from casebridge.cooperation_models.models import Term
from casebridge.stats import indicators, selectors
from casebridge.stats.indicators import SLOT_NONE
from tests.stats.attacker import Attacker

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

K = 5
# indicators counting the same units: equal totals in every state
POPULATIONS = {
    "contacts": [
        "contacts_by_caller_category",
        "contacts_by_channel",
        "contacts_by_contact_category",
        "contacts_by_language",
        "referral_funnel",
    ],
    "cases.active": ["cases_by_phase", "lead_worker_changes"],
    "cases.closed": [
        "cases_by_duration",
        "cases_by_closing_reason",
        "outcome_top_by_phase",
        "outcome_top_by_partner_type",
        "outcome_top_by_intake_year",
        "follow_up_state",
    ],
    # the outcome tables by dimension: every row counts every closed case (below)
    "outcomes.closure": ["outcome_change_at_closure"],
    "outcomes.follow_up": ["outcome_change_at_follow_up"],
    "cases.open": ["cases_without_lead"],
    "goals": ["goals_by_status"],
    "obligations": ["obligations_compliance", "obligations_by_pair"],
    "disclosures": ["disclosures_by_legal_basis", "disclosures_by_direction"],
    "hotline_disclosures": ["hotline_informed"],
    "requests": ["requests_by_direction"],
    "handovers": ["handovers_by_organisation"],
}
# populations an attacker can relate to each other: solved together
GROUPS = {
    "contacts": "contacts",
    "cases.active": "cases",
    "cases.closed": "cases",
    "cases.open": "cases",
    "outcomes.closure": "cases",
    "outcomes.follow_up": "cases",
    "goals": "goals",
    "obligations": "obligations",
    "disclosures": "disclosures",
    "hotline_disclosures": "hotline_disclosures",
    "requests": "requests",
    "handovers": "handovers",
}
POPULATION_OF = {code: name for name, codes in POPULATIONS.items() for code in codes}
POPULATION_OF["contacts_by_state"] = "contacts"
# the unknowns of a table published for the whole network only (one answered without a
# state and never with one): the network's counts, not split by state
NETWORK = "network"
# the tables of the top-level result (issue 20)
TOP_TABLES = ("outcome_top_by_phase", "outcome_top_by_partner_type", "outcome_top_by_intake_year")


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    return [value for value in re.findall(r'<option value="([^"]*)"', select.group(1)) if value]


class Persona:
    """Everything one persona can obtain, as unknowns and figures per group."""

    def __init__(self, client, states):
        self.client = client
        self.states = states  # (slot, code, label)
        self.slots = [slot for slot, _code, _label in states] + [SLOT_NONE]
        self.attackers: dict[tuple, Attacker] = defaultdict(lambda: Attacker(K))
        self.truth: dict[tuple, int] = {}
        self.row_labels: dict[str, list[str]] = {}
        self.requests = 0
        self.network_only: set[tuple] = set()  # (scope, year, code)

    def name(self, scope, year, code, slot, r, c):
        return (scope, year, code, slot, r, c)

    def cells(self, scope, year, code, slots, rows, columns):
        if (scope, year, code) in self.network_only:
            assert set(slots) == set(self.slots), "a network-only table has no state's part"
            slots = [NETWORK]
        return {
            self.name(scope, year, code, slot, r, c)
            for slot in slots
            for r in rows
            for c in columns
        }

    def population_total(self, scope, year, population, slots, shapes):
        code = POPULATIONS[population][0]
        rows, columns = shapes[code]
        return self.cells(scope, year, code, slots, range(rows), range(columns))

    def read(self, scope: str, year: int):
        """Every state filter of one scope and year; the true counts beside them."""
        answers = []
        for state in [None, *self.states]:
            query = {"scope": scope, "year": year}
            if state:
                query["state"] = state[1]
            response = self.client.get("/api/v1/stats/indicators", query)
            self.requests += 1
            assert response.status_code == 200, response.content
            answers.append((state, response.json()))
        board_shapes = {
            item["code"]: (len(item["rows"]), len(item["columns"]))
            for _state, body in answers
            for item in body["indicators"]
            if item["code"] != "contacts_by_state"
        }
        in_states = {
            item["code"] for state, body in answers if state for item in body["indicators"]
        }
        self.network_only |= {(scope, year, code) for code in set(board_shapes) - in_states}
        for state, body in answers:
            slots = [state[0]] if state else self.slots
            for item in body["indicators"]:
                self.see_table(scope, year, item, slots, board_shapes, state)
        return board_shapes

    def see_table(self, scope, year, item, slots, shapes, state):
        code = item["code"]
        self.row_labels[code] = item["rows"]
        attacker = self.attackers[(scope, year, GROUPS[POPULATION_OF[code]])]
        if code == "contacts_by_state":
            labels = {label: slot for slot, _code, label in self.states}
            for label, line in zip(item["rows"], item["cells"], strict=True):
                slot = labels.get(label, SLOT_NONE)
                assert state is None or slot == state[0], "a state filter shows its state only"
                cells = self.population_total(scope, year, "contacts", [slot], shapes)
                attacker.see(cells, line[0]["value"], self.true(cells))
            cells = self.population_total(scope, year, "contacts", slots, shapes)
            attacker.see(cells, item["total"]["value"], self.true(cells))
            return
        rows, columns = range(len(item["rows"])), range(len(item["columns"]))
        for r in rows:
            for c in columns:
                cells = self.cells(scope, year, code, slots, [r], [c])
                attacker.see(cells, item["cells"][r][c]["value"], self.true(cells))
        for r, value in enumerate(item["row_totals"] or []):
            cells = self.cells(scope, year, code, slots, [r], columns)
            attacker.see(cells, value["value"], self.true(cells))
        for c, value in enumerate(item["column_totals"] or []):
            cells = self.cells(scope, year, code, slots, rows, [c])
            attacker.see(cells, value["value"], self.true(cells))
        if item["total"] is not None:  # the tables by dimension have none
            cells = self.cells(scope, year, code, slots, rows, columns)
            attacker.see(cells, item["total"]["value"], self.true(cells))

    def true(self, cells) -> int:
        return sum(self.truth[name] for name in cells)

    def slot_sets(self, scope, year, codes) -> list[list]:
        """A relation between tables holds per state when all are published per state,
        else for the whole network."""
        if any((scope, year, code) in self.network_only for code in codes):
            return [self.slots]
        return [[slot] for slot in self.slots]

    def know_relations(self, scope, year, shapes):
        """What an outsider knows of the populations (see the module's text)."""
        for population, codes in POPULATIONS.items():
            present = [code for code in codes if code in shapes]
            for other in present[1:]:
                for slots in self.slot_sets(scope, year, [present[0], other]):
                    first = self.population_total(scope, year, population, slots, shapes)
                    rows, columns = shapes[other]
                    cells = self.cells(scope, year, other, slots, range(rows), range(columns))
                    self.equal(scope, year, population, cells, first)
        if {"cases_by_phase", "cases_by_duration", "cases_without_lead"} <= set(shapes):
            closure = list(Phase).index(Phase.CLOSURE)
            for slot in self.slots:
                active = self.population_total(scope, year, "cases.active", [slot], shapes)
                closed = self.population_total(scope, year, "cases.closed", [slot], shapes)
                still_open = self.population_total(scope, year, "cases.open", [slot], shapes)
                self.equal(scope, year, "cases.active", active, closed | still_open)
                in_closure = self.cells(scope, year, "cases_by_phase", [slot], [closure], [0])
                assert self.true(in_closure) >= self.true(closed)
                self.attackers[(scope, year, "cases")].at_least.append((in_closure, closed))
        pair = ["obligations_compliance", "obligations_by_pair"]
        if set(pair) <= set(shapes):
            # the obligations of one outcome: a column of the table by pair of organisation
            # types, a row of the table by outcome
            pairs, outcomes = shapes["obligations_by_pair"]
            for slots in self.slot_sets(scope, year, pair):
                for outcome in range(outcomes):
                    column = self.cells(
                        scope, year, "obligations_by_pair", slots, range(pairs), [outcome]
                    )
                    row = self.cells(scope, year, "obligations_compliance", slots, [outcome], [0])
                    self.equal(scope, year, "obligations", column, row)

    def know_outcome_relations(self, scope, year, shapes):
        """The outcome tables (issue 20), as their documentation tells a reader: a table
        by dimension has every closed case in each row ("not judged at both" included);
        the tables of the top-level result split its row of the table at closure (the
        model's headline dimension) by phase, partner type and year of intake; a case
        judged at a follow-up was reached at one."""
        closure, follow = "outcome_change_at_closure", "outcome_change_at_follow_up"
        if closure not in shapes:
            return
        headline = Term.objects.get(kind="outcome_dimension", attributes__headline=True)
        top = self.row_labels[closure].index(headline.label)
        reached = self.row_labels["follow_up_state"].index("reached at a follow-up")
        tables = [closure, follow, "follow_up_state", *TOP_TABLES]
        for slots in self.slot_sets(scope, year, [*tables, POPULATIONS["cases.closed"][0]]):
            closed = self.population_total(scope, year, "cases.closed", slots, shapes)
            for code, population in ((closure, "outcomes.closure"), (follow, "outcomes.follow_up")):
                rows, columns = shapes[code]
                for r in range(rows):
                    line = self.cells(scope, year, code, slots, [r], range(columns))
                    self.equal(scope, year, population, line, closed)
            columns = shapes[closure][1]
            for code in TOP_TABLES:
                rows = shapes[code][0]
                for c in range(columns):
                    part = self.cells(scope, year, code, slots, range(rows), [c])
                    whole = self.cells(scope, year, closure, slots, [top], [c])
                    self.equal(scope, year, "cases.closed", part, whole)
            got_there = self.cells(scope, year, "follow_up_state", slots, [reached], [0])
            not_judged = columns - 1
            for r in range(shapes[follow][0]):
                missing = self.cells(scope, year, follow, slots, [r], [not_judged])
                assert self.true(missing | got_there) >= self.true(closed)
                self.attackers[(scope, year, "cases")].at_least.append(
                    (missing | got_there, closed)
                )

    def equal(self, scope, year, population, plus, minus):
        assert self.true(plus) == self.true(minus), "a relation the data do not keep"
        self.attackers[(scope, year, GROUPS[population])].equal.append((plus, minus))

    def load_truth(self, scope: str, year: int, organisation_id):
        period = selectors.period_of(year)
        filters = indicators.Filters(period.start, period.end, organisation_id=organisation_id)
        for indicator in indicators.INDICATORS:
            if indicator.rows_are_states:
                continue
            counts = indicator.compute(filters)
            for slot in self.slots:
                cells = counts.slots.get(slot)
                for r in range(len(counts.rows)):
                    for c in range(len(counts.columns)):
                        value = cells[r][c] if cells else 0
                        self.truth[self.name(scope, year, indicator.code, slot, r, c)] = value
            network = counts.cells(self.slots)
            for r in range(len(counts.rows)):
                for c in range(len(counts.columns)):
                    self.truth[self.name(scope, year, indicator.code, NETWORK, r, c)] = network[r][
                        c
                    ]


def _attack(personas, user) -> tuple[list, Counter, int]:
    client = personas.client(user)
    html = client.get("/stats/").content.decode()
    scopes = _options(html, "scope")
    states = indicators.states()
    persona = Persona(client, states)
    this_year = timezone.localdate().year
    pinned, checked = [], Counter()
    for scope in scopes:
        organisation_id = None if scope == "network" else int(scope.removeprefix("org-"))
        for year in (this_year - 2, this_year - 1, this_year):
            persona.load_truth(scope, year, organisation_id)
            shapes = persona.read(scope, year)
            persona.know_relations(scope, year, shapes)
            persona.know_outcome_relations(scope, year, shapes)
    for (_scope, _year, group), attacker in persona.attackers.items():
        found, count = attacker.pinned(persona.truth)
        pinned += found
        checked[group] += count
    return pinned, checked, persona.requests


@pytest.mark.parametrize("role", ["coordinator", "partner", "hotline"])
def test_no_hidden_small_count_can_be_bounded_narrower_than_k(stats_data, personas, role):
    pinned, by_group, requests = _attack(personas, getattr(personas, role))
    checked = by_group.total()
    assert requests >= 3 * 17
    assert checked > 20, "the data should give the attacker small hidden counts to try"
    if role == "coordinator":
        # partnership health: every one of its populations has small hidden counts to try
        assert all(by_group[group] > 0 for group in ("requests", "handovers", "obligations"))
    examples = [
        (sorted(p.cells)[0][:3], len(p.cells), p.value, (p.low, p.high)) for p in pinned[:3]
    ]
    assert pinned == [], f"{len(pinned)} of {checked} small hidden counts pinned: {examples}"


def test_one_indicator_alone_and_the_files_hide_the_same(stats_data, personas):
    """Asking for one indicator, or for a file, must not change what is hidden: a smaller
    request protected on its own would publish what the full one hides."""
    client = personas.client(personas.coordinator)
    year = timezone.localdate().year
    full = client.get("/api/v1/stats/indicators", {"year": year, "state": "DE-HB"}).json()
    for item in full["indicators"]:
        alone = client.get(
            f"/api/v1/stats/indicators/{item['code']}", {"year": year, "state": "DE-HB"}
        ).json()
        assert alone["cells"] == item["cells"] and alone["total"] == item["total"]
    csv = client.get("/api/v1/stats/export", {"year": year, "state": "DE-HB", "format": "csv"})
    lines = csv.content.decode().splitlines()
    hidden_in_file = sum(1 for line in lines if line.endswith(",,suppressed"))
    hidden_in_api = sum(
        1
        for item in full["indicators"]
        for value in [
            *(v for line in item["cells"] for v in line),
            *(item["row_totals"] or []),
            *(item["column_totals"] or []),
            *([item["total"]] if item["total"] else []),
        ]
        if value["value"] is None
    )
    assert hidden_in_file == hidden_in_api > 0
    # partnership health is the network's only: alone, in the whole answer and on its own
    # API, the same values hidden
    network = client.get("/api/v1/stats/indicators", {"year": year}).json()
    partnership = client.get("/api/v1/stats/partnership", {"year": year}).json()
    own = {item["code"]: item for item in partnership["indicators"]}
    for item in network["indicators"]:
        if item["code"] not in own:
            continue
        alone = client.get(f"/api/v1/stats/indicators/{item['code']}", {"year": year}).json()
        for other in (alone, own[item["code"]]):
            assert other["cells"] == item["cells"] and other["total"] == item["total"]
    assert {"requests_by_direction", "obligations_by_pair"} <= set(own)
