"""Everything statistics may read, in one place (DESIGN.md invariants 1, 6 and 7).

``READABLE`` lists, per model, the only columns an indicator may touch: ids, codes,
status values, dates and foreign keys to vocabularies, organisations and regions. No
identity field (``crypto.fields.protected_fields``), no free text, no file. A reviewer
reads this module to know the whole extent of what statistics see.

Indicators get their querysets from ``source()`` and nowhere else; ``columns_of()`` parses
the SQL an indicator sends and ``unregistered_columns()`` names every column outside this
list — ``tests/stats/test_registry.py`` runs every indicator under
``connection.execute_wrapper`` and fails on any such column. That is why the statistics
modules may query protected models (``tests/test_invariants.py``): they read them in
aggregate, through this list only.
"""

from __future__ import annotations

import re
from functools import cache

from django.apps import apps
from django.db import models

# model label -> field names (as declared on the model; a foreign key by its field name)
READABLE: dict[str, tuple[str, ...]] = {
    "hotline.Contact": (
        "id",
        "organisation",
        "channel",
        "started_at",
        "language",
        "caller_category",
        "contact_category",
        "person_region",
    ),
    "hotline.Referral": (
        "id",
        "contact",
        "partner",
        "status",
        "sent_at",
        "responded_at",
        "first_appointment_on",
    ),
    "cases.Case": (
        "id",
        "owner",
        "status",
        "phase",
        "closing_reason",
        "referral",
        "opened_at",
        "closed_at",
    ),
    "cases.Participant": (
        "id",
        "case",
        "organisation",
        "role",
        "lead_worker",
        "valid_from",
        "valid_until",
    ),
    "cases.Handover": ("id", "participant", "at"),
    "cases.Goal": ("id", "case", "horizon", "status"),
    # the rule (a code) and the recipient participant: who must inform whom (issue 20)
    "sharing.Obligation": (
        "id",
        "case",
        "protocol",
        "rule",
        "recipient",
        "status",
        "due_at",
        "fulfilled_at",
    ),
    # requests for information: who asked whom, when, by when, and what became of them;
    # never the question, the purpose or the reason for a refusal
    "sharing.InformationRequest": (
        "id",
        "case",
        "from_participant",
        "to_participant",
        "status",
        "requested_at",
        "due_at",
        "decided_at",
    ),
    # the SOP's rules, for the sender each rule names (a role, organisation type or sector
    # code); rules are the agreed procedure's own text, never case content
    "sharing.Protocol": ("id", "rules"),
    "sharing.Disclosure": (
        "id",
        "case",
        "from_participant",
        "to_participant",
        "legal_basis",
        "status",
        "decided_at",
    ),
    "sharing.ContactDisclosure": (
        "id",
        "contact",
        "recipient",
        "legal_basis",
        "status",
        "decided_at",
    ),
    # outcomes (issue 20): occasions, days, dimensions and levels, follow-up states; never
    # the assessment's entry (its rationale) nor the consent's note
    "outcomes.Assessment": ("id", "case", "occasion", "assessed_on", "follow_up"),
    "outcomes.Rating": ("id", "assessment", "dimension", "level"),
    "outcomes.FollowUp": ("id", "case", "status", "due_on"),
    "outcomes.FollowUpConsent": ("id", "case", "given", "withdrawn_at"),
    # vocabularies and the network: labels and codes, no people
    "cooperation_models.Term": (
        "id",
        "kind",
        "code",
        "position",
        "labels",
        "attributes",
        "active",
    ),
    "network.Region": ("id", "code", "level", "parent", "labels", "active"),
    "network.Organisation": ("id", "code", "short_name", "name", "type", "region", "active"),
    "network.OrganisationType": ("id", "code", "position", "labels", "sector"),
    "network.Sector": ("id", "code", "position", "labels"),
    # statistics' own derived counts (``aggregates``), built from the columns above
    "stats.MonthFigures": ("id", "month", "organisation", "state", "figures"),
    "stats.MonthBuild": ("id", "month", "built_at"),
    "stats.StaleMonth": ("id", "month"),
    # the furthest phase of a case, and the closed cases' monthly outcome figures
    "stats.PhaseReached": ("id", "case", "phase"),
    "stats.OutcomeFigures": ("id", "month", "organisation", "figures"),
    "stats.OutcomeBuild": ("id", "month", "built_at"),
    "stats.StaleOutcomeMonth": ("id", "month"),
}


class NotReadable(Exception):
    """A statistics query asked for a model or column outside ``READABLE``."""


def model_of(label: str) -> type[models.Model]:
    return apps.get_model(label)


def source(model: type[models.Model]) -> models.QuerySet:
    """Return the base queryset an indicator starts from; refuse unlisted models.

    The queryset is unordered (aggregates need no ordering, and a model's default ordering
    would add its columns to the query).
    """
    if model._meta.label not in READABLE:
        raise NotReadable(model._meta.label)
    return model._base_manager.order_by()


@cache
def readable_columns() -> dict[str, frozenset[str]]:
    """Return db table -> readable db columns, from ``READABLE``."""
    tables: dict[str, set[str]] = {}
    for label, names in READABLE.items():
        model = model_of(label)
        columns = tables.setdefault(model._meta.db_table, set())
        for name in names:
            columns.add(model._meta.get_field(name).column)
    return {table: frozenset(columns) for table, columns in tables.items()}


_QUALIFIED = re.compile(r'(?:"(?P<table>[^"]+)"|\b(?P<alias>[A-Z]\d+))\."(?P<column>[^"]+)"')
_ALIAS = re.compile(r'"(?P<table>[^"]+)"\s+(?:AS\s+)?"?(?P<alias>[A-Z]\d+)"?(?![\w."])', re.I)
_FROM = re.compile(r'\b(?:FROM|JOIN)\s+"(?P<table>[^"]+)"', re.I)


def _split_subqueries(sql: str) -> tuple[str, list[str]]:
    """Return the statement with its parenthesised sub-selects cut out, and those."""
    outer, inner = [], []
    position = 0
    while True:
        start = sql.find("(SELECT", position)
        if start < 0:
            outer.append(sql[position:])
            return "".join(outer), inner
        depth, end = 0, start
        for end in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                break
        outer.append(sql[position:start] + "(...)")
        inner.append(sql[start + 1 : end])
        position = end + 1


def _columns(sql: str, inherited: dict[str, str], found: set[tuple[str, str]]) -> None:
    own, subqueries = _split_subqueries(sql)
    aliases = {**inherited, **{m["alias"]: m["table"] for m in _ALIAS.finditer(own)}}
    named = set()
    for match in _QUALIFIED.finditer(own):
        if match["table"]:
            table = aliases.get(match["table"], match["table"])
        else:
            table = aliases.get(match["alias"], match["alias"])
        found.add((table, match["column"]))
        named.add(table)
    for subquery in subqueries:
        _columns(subquery, aliases, found)
    for match in _FROM.finditer(own):
        table = match["table"]
        if table not in named and not any(t == table for t, _c in found):
            found.add((table, "*"))


def columns_of(sql: str) -> set[tuple[str, str]]:
    """Return the (table, column) pairs an SQL statement names, aliases resolved.

    Django qualifies every column as ``"table"."column"`` (or ``T3."column"`` /
    ``U0."column"`` for an aliased table; aliases are resolved per sub-select, since
    Django reuses ``U0`` in each). A table named in FROM/JOIN without any qualified
    column is reported as (table, "*") so that reading a whole table never passes
    unnoticed.
    """
    found: set[tuple[str, str]] = set()
    _columns(sql, {}, found)
    return found


def unregistered_columns(sql: str) -> set[tuple[str, str]]:
    """Return the columns of ``sql`` that ``READABLE`` does not list."""
    allowed = readable_columns()
    return {
        (table, column)
        for table, column in columns_of(sql)
        if column not in allowed.get(table, frozenset())
    }


class QueryRecorder:
    """An ``execute_wrapper`` that keeps every statement sent (for tests and the bench)."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def unregistered(self) -> dict[str, set[tuple[str, str]]]:
        found = {}
        for sql in self.statements:
            if sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                continue
            bad = unregistered_columns(sql)
            if bad:
                found[sql] = bad
        return found
