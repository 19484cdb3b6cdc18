"""Read and validate a cooperation model file (TOML) into plain, checked data.

Nothing here touches the database: ``parse_model()`` either returns a ``ModelSpec`` that
the loader can write as it is, or raises ``ModelInvalid`` with every error found, each
naming the file, the table, the entry and the key.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    model_serializer,
)

from casebridge.sop.engine import Vocabulary, check
from casebridge.sop.events import DEADLINE_PATTERN, HOTLINE_EVENTS

MODELS_DIR = Path(__file__).resolve().parent

# DESIGN.md invariant 3: every model has at least these; a model may add more.
BASE_INFORMATION_CATEGORIES = (
    "case_coordination",
    "identity",
    "counselling",
    "risk_assessment",
    "security",
    "justice",
    "child_welfare",
)
POSTCODE_COLUMNS = ["postcode", "region", "latitude", "longitude"]
REGION_LEVELS = ["country", "state", "district", "municipality"]
# An organisation's coordinates may lie this far from its postcode's centre.
MAX_SEAT_DISTANCE_KM = 50

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, max_length=64)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]+)*$", max_length=32)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelHeader(_Strict):
    code: Code
    version: Text
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    name: dict[str, Text]
    languages: list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]] = Field(min_length=1)
    time_zone: Text = "Europe/Berlin"
    postcode_pattern: Text
    postcode_file: Text | None = None
    statistics_threshold: int = Field(default=5, ge=2, le=100)
    first_contact_target_days: int = Field(default=5, ge=1, le=90)
    # months after a case's closure at which its lead follows up (with the person's consent)
    follow_up_months: list[Annotated[int, Field(ge=1, le=60)]] = Field(
        default=[6, 12], max_length=6
    )


class StatisticsSpec(_Strict):
    """[statistics]: disclosure control for every figure that leaves the system (stats/)."""

    # threshold k: counts 0 < n < k are suppressed, with secondary suppression
    k: int = Field(default=5, ge=2, le=100)


class VocabularyEntry(_Strict):
    code: Code
    label: dict[str, Text]
    description: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = {}


class ClosingReason(VocabularyEntry):
    contact_category: Code


class LegalBasis(VocabularyEntry):
    citation: Text
    kind: Literal["consent", "emergency", "duty", "child_welfare", "change_of_purpose", "other"]


class FirstAnalysisPoint(VocabularyEntry):
    """A point of the hotline's first analysis, answered yes / no / unclear at intake.

    ``event``: the hotline protocol event a "yes" raises (danger_to_others, danger_to_self,
    child_at_risk); the protocol then says whom the hotline must or may inform.
    """

    event: Code | None = None


class SectorEntry(VocabularyEntry):
    # Information categories an organisation of this sector never receives by scope, only
    # by a recorded disclosure (Germany: counselling never reaches the security sector).
    never_by_scope: list[Code] = []
    # Staff of organisations in this sector sign in with a second factor (TOTP).
    two_factor: bool = False


class CaseRole(VocabularyEntry):
    """A role in a case, with the scope a participant in it gets by default."""

    lead: bool = False
    sectors: list[Code] = []
    read: list[Code] = []
    write: list[Code] = []


class OutcomeDimension(VocabularyEntry):
    """One dimension a case's outcome is judged on, with its ordinal scale.

    ``levels`` run from furthest from the goal (0) to the goal (last): a change to a higher
    level is a change for the better. ``category``: the information category of the
    judgements recorded on it (who may read them follows the case's scopes). ``headline``:
    the top-level result (disengagement from violence), which the statistics break down.
    """

    group: Literal["radicalisation", "situation"]
    category: Code
    headline: bool = False
    levels: list[dict[str, Text]] = Field(min_length=2, max_length=10)


class GoalTemplate(VocabularyEntry):
    """A goal a case plan may take over, tied to the outcome dimension it serves."""

    dimension: Code
    horizon: Literal["interim", "long_term"]


class OrganisationTypeEntry(VocabularyEntry):
    sector: Code


class RegionEntry(_Strict):
    code: RegionCode
    level: Literal["country", "state", "district", "municipality"]
    name: dict[str, Text]
    parent: RegionCode | None = None
    postcode_prefixes: list[Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{1,8}$")]] = []


class CoverageEntry(_Strict):
    regions: list[RegionCode] = Field(min_length=1)
    services: list[Code] = []
    languages: list[Code] = []
    capacity: int = Field(default=0, ge=0, le=10_000)


class OrganisationEntry(_Strict):
    code: Code
    name: Text
    short_name: Annotated[str, StringConstraints(max_length=40)] = ""
    type: Code
    governance: Literal["state", "ngo"]
    hotline: bool = False
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    street: Annotated[str, StringConstraints(max_length=200)] = ""
    postcode: Text
    city: Text
    region: RegionCode | None = None
    coordinates: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] = ""
    email: Annotated[str, StringConstraints(max_length=254)] = ""
    website: Annotated[str, StringConstraints(max_length=200)] = ""
    coverage: list[CoverageEntry] = []


class RecipientSpec(_Strict):
    """Who a rule is about: one case role, organisation type or sector, or every other party."""

    role: Code | None = None
    organisation_type: Code | None = None
    sector: Code | None = None
    all: bool = False


class ConditionSpec(_Strict):
    min_likelihood: Literal["unlikely", "likely", "predominantly_likely", "very_likely"] | None = (
        None
    )
    min_imminence: Literal["not_foreseeable", "medium_term", "imminent"] | None = None


class RuleEntry(_Strict):
    code: Code
    event: Code
    condition: ConditionSpec = ConditionSpec()
    obligation: Literal["must_inform", "may_inform", "must_not_share"]
    # Who informs: one case role, organisation type or sector of the case (never ``all``).
    # None: the case's lead, who is responsible for every obligation without a sender.
    sender: RecipientSpec | None = None
    recipient: RecipientSpec
    categories: list[Code] = Field(min_length=1)
    deadline: Annotated[str, StringConstraints(pattern=DEADLINE_PATTERN)] = "without_delay"
    legal_basis: Code
    consent_required: bool = False
    second_approval: bool = False
    overrides: list[Code] = []
    label: dict[str, Text]
    description: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = {}

    @model_serializer(mode="wrap")
    def _without_lead_sender(self, handler: SerializerFunctionWrapHandler) -> dict:
        """A rule the lead sends has no ``sender`` key at all: its dump (and the rules stored
        from it) stays as before senders existed, and a TOML export has no null to write."""
        data = handler(self)
        if isinstance(data, dict) and data.get("sender", ...) is None:
            del data["sender"]
        return data


class ProtocolEntry(_Strict):
    code: Code
    version: Text
    status: Literal["draft", "active", "retired"] = "draft"
    effective_from: date
    effective_until: date | None = None
    parties: list[Code] = Field(min_length=1)
    label: dict[str, Text]
    description: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = {}
    rules: list[RuleEntry] = Field(min_length=1)


# -- [retention] (owned by privacy: storage limitation, GDPR Art. 5(1)(e)) ------------------
Months = Annotated[int, Field(ge=1, le=600)]
Years = Annotated[int, Field(ge=1, le=50)]


class RetentionSpec(_Strict):
    """How long each kind of record keeps its content; the statistical fields stay.

    Every period counts from the event named in its key's comment in germany.toml.
    ``category_years`` gives the free text of each information category its own period
    after a case is closed; categories not named there follow ``closed_case_years``.
    """

    anonymous_contact_text_months: Months
    identified_contact_months: Months
    closed_referral_months: Months
    closed_case_years: Years
    category_years: dict[Code, Years] = {}
    consent_years: Years
    disclosure_years: Years
    audit_event_years: Years


# -- [federation] (issue 22: cooperation between independent installations) ---------------
FEDERATION_PURPOSES = ("consultation", "match", "handover")
# Hosts an agreement may reach over plain http (tests and local trials only).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ED25519_KEY_BYTES = 32


class FederationDirection(_Strict):
    """What may cross in one direction of an agreement, for one purpose.

    consultation and match carry no case content (no categories); a handover names the
    categories that go with the case and the sector that receives it, in this model's
    sector vocabulary.
    """

    purpose: Literal["consultation", "match", "handover"]
    categories: list[Code] = []
    legal_basis: Code
    # the partner's legal basis, as the partner cites it
    partner_legal_basis: Text
    receiving_sector: Code | None = None


class FederationAgreement(_Strict):
    """One agreement with one partner installation ([[federation.agreements]])."""

    code: Code
    version: Text
    partner: Code
    partner_name: dict[str, Text] = Field(min_length=1)
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    # the partner's raw 32-byte Ed25519 public key, base64
    public_key: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    valid_from: date
    valid_until: date | None = None
    copies_kept_days: int = Field(ge=1, le=3650)
    closing_reason: Code
    organisations: list[Code] = Field(min_length=1)
    label: dict[str, Text] = {}
    send: list[FederationDirection] = []
    receive: list[FederationDirection] = []


class FederationHeader(_Strict):
    installation: Code
    name: dict[str, Text]


@dataclass(frozen=True)
class FederationSpec:
    """[federation]: this installation as partners know it, and its agreements."""

    installation: str
    name: dict[str, str]
    agreements: list[FederationAgreement] = field(default_factory=list)


# table name -> (entry schema, key that names an entry in messages)
TABLES: dict[str, tuple[type[BaseModel], str]] = {
    "sectors": (SectorEntry, "code"),
    "organisation_types": (OrganisationTypeEntry, "code"),
    "regions": (RegionEntry, "code"),
    "caller_categories": (VocabularyEntry, "code"),
    "caller_relations": (VocabularyEntry, "code"),
    "contact_categories": (VocabularyEntry, "code"),
    "closing_reasons": (ClosingReason, "code"),
    "information_categories": (VocabularyEntry, "code"),
    "legal_bases": (LegalBasis, "code"),
    "services": (VocabularyEntry, "code"),
    "languages": (VocabularyEntry, "code"),
    "concern_topics": (VocabularyEntry, "code"),
    "first_analysis": (FirstAnalysisPoint, "code"),
    "case_roles": (CaseRole, "code"),
    "case_closing_reasons": (VocabularyEntry, "code"),
    "outcome_dimensions": (OutcomeDimension, "code"),
    "goal_templates": (GoalTemplate, "code"),
    "protocols": (ProtocolEntry, "code"),
    "organisations": (OrganisationEntry, "name"),
}
REQUIRED_TABLES = (
    "sectors",
    "organisation_types",
    "regions",
    "caller_categories",
    "contact_categories",
    "information_categories",
    "legal_bases",
)
# Vocabulary tables stored as ``Term`` rows, with the kind they get.
TERM_TABLES = {
    "caller_categories": "caller_category",
    "caller_relations": "caller_relation",
    "contact_categories": "contact_category",
    "closing_reasons": "closing_reason",
    "information_categories": "information_category",
    "legal_bases": "legal_basis",
    "services": "service",
    "languages": "language",
    "concern_topics": "concern_topic",
    "first_analysis": "first_analysis",
    "case_roles": "case_role",
    "case_closing_reasons": "case_closing_reason",
    "outcome_dimensions": "outcome_dimension",
    "goal_templates": "goal_template",
}


@dataclass(frozen=True)
class ModelError:
    file: str
    message: str
    table: str = ""
    index: int | None = None
    entry: str = ""
    key: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = [self.file + (f":{self.line}" if self.line else "")]
        if self.table:
            single = self.table in ("model", "retention", "statistics", "federation")
            item = f"[{self.table}]" if single else f"[[{self.table}]]"
            if self.index is not None:
                item += f" {self.index}"
                if self.entry:
                    item += f' ("{self.entry}")'
            where.append(item)
        if self.key:
            where.append(_("key %(key)s") % {"key": self.key})
        return ": ".join([*where, self.message])


class ModelInvalid(Exception):
    def __init__(self, errors: list[ModelError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class PostcodeRow:
    postcode: str
    region: str
    latitude: float | None
    longitude: float | None


@dataclass
class ModelSpec:
    """A validated cooperation model, ready to be loaded."""

    source: str
    digest: str
    header: ModelHeader
    tables: dict[str, list] = field(default_factory=dict)
    postcodes: list[PostcodeRow] = field(default_factory=list)
    organisation_regions: dict[str, str] = field(default_factory=dict)
    retention: RetentionSpec | None = None
    statistics: StatisticsSpec | None = None
    federation: FederationSpec | None = None

    @property
    def statistics_k(self) -> int:
        """k from [statistics], else the older [model] statistics_threshold."""
        if self.statistics is not None:
            return self.statistics.k
        return self.header.statistics_threshold

    @cached_property
    def postcode_centres(self) -> dict[str, tuple[float, float]]:
        return {
            row.postcode: (row.latitude, row.longitude)
            for row in self.postcodes
            if row.latitude is not None
        }

    def entries(self, table: str) -> list:
        return self.tables.get(table, [])


def resolve_model_path(name_or_path: str) -> Path:
    """Return the file for a shipped model name (``germany``) or a path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists() or "/" in name_or_path:
        return candidate
    return MODELS_DIR / f"{name_or_path}.toml"


def parse_model(name_or_path: str) -> ModelSpec:
    """Read, parse and cross-check a model file; raise ``ModelInvalid`` listing every error."""
    path = resolve_model_path(name_or_path)
    checker = _Checker(path)
    spec = checker.run()
    if checker.errors:
        raise ModelInvalid(checker.errors)
    assert spec is not None
    return spec


_PYDANTIC_MESSAGES = {
    "missing": lambda e: _("is required"),
    "extra_forbidden": lambda e: _("is not a known key"),
    "string_type": lambda e: _("must be text"),
    "int_type": lambda e: _("must be a whole number"),
    "bool_type": lambda e: _("must be true or false"),
    "float_type": lambda e: _("must be a number"),
    "list_type": lambda e: _("must be a list"),
    "dict_type": lambda e: _("must be a table"),
    "literal_error": lambda e: (
        _("must be one of %(choices)s") % {"choices": e.get("ctx", {}).get("expected", "")}
    ),
    "string_pattern_mismatch": lambda e: _pattern_message(e),
    "string_too_short": lambda e: _("must not be empty"),
    "string_too_long": lambda e: _("is too long"),
    "too_short": lambda e: (
        _("must have at least %(count)s entries") % {"count": e["ctx"]["min_length"]}
        if e.get("ctx", {}).get("min_length", 1) > 1
        else _("must not be empty")
    ),
    "too_long": lambda e: _("has too many items"),
    "greater_than_equal": lambda e: (
        _("must be at least %(limit)s") % {"limit": e.get("ctx", {}).get("ge")}
    ),
    "less_than_equal": lambda e: (
        _("must be at most %(limit)s") % {"limit": e.get("ctx", {}).get("le")}
    ),
}


def _pattern_message(error: dict) -> str:
    value = error.get("input")
    if error.get("ctx", {}).get("pattern") == CODE_PATTERN:
        return _("has a malformed value %(value)r (use lowercase letters, digits, _ and -)") % {
            "value": value
        }
    return _("has a malformed value %(value)r") % {"value": value}


def pydantic_message(error: dict) -> str:
    render = _PYDANTIC_MESSAGES.get(error["type"])
    return render(error) if render else error["msg"]


def _loc(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"])


class _Checker:
    def __init__(self, path: Path):
        self.path = path
        self.file = path.name
        self.errors: list[ModelError] = []

    def error(self, message: str, **where) -> None:
        self.errors.append(ModelError(self.file, message, **where))

    # -- reading --------------------------------------------------------------------------

    def run(self) -> ModelSpec | None:
        try:
            raw_bytes = self.path.read_bytes()
        except FileNotFoundError:
            self.error(_("file not found"))
            return None
        except OSError as exc:
            self.error(_("cannot read the file: %(reason)s") % {"reason": exc.strerror})
            return None
        try:
            data = tomllib.loads(raw_bytes.decode("utf-8"))
        except UnicodeDecodeError:
            self.error(_("the file is not UTF-8 text"))
            return None
        except tomllib.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            self.error(
                _("not valid TOML: %(reason)s") % {"reason": exc},
                line=int(line.group(1)) if line else None,
            )
            return None
        digest = hashlib.sha256(raw_bytes)
        header = self._header(data.pop("model", None))
        raw_retention = data.pop("retention", None)
        raw_federation = data.pop("federation", None)
        statistics = self._statistics(data.pop("statistics", None), header)
        tables: dict[str, list] = {}
        for name, value in data.items():
            if name not in TABLES:
                self.error(_("is not a known table"), table=name)
                continue
            tables[name] = self._table(name, value)
        for name in REQUIRED_TABLES:
            if name not in data:
                self.error(_("is required but missing"), table=name)
        if header is None:
            return None
        spec = ModelSpec(
            source=self.file, digest="", header=header, tables=tables, statistics=statistics
        )
        self._labels(spec)
        self._unique_codes(spec)
        self._references(spec)
        self._regions(spec)
        if header.postcode_file:
            spec.postcodes = self._postcodes(spec, digest)
        self._organisations(spec)
        self._outcomes(spec)
        self._protocols(spec)
        spec.retention = self._retention(spec, raw_retention)
        spec.federation = self._federation(spec, raw_federation)
        spec.digest = digest.hexdigest()
        return spec

    def _header(self, raw) -> ModelHeader | None:
        if raw is None:
            self.error(_("is required but missing"), table="model")
            return None
        try:
            header = ModelHeader.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                self.error(pydantic_message(err), table="model", key=_loc(err))
            return None
        try:
            re.compile(header.postcode_pattern)
        except re.error as exc:
            self.error(
                _("is not a valid regular expression (%(reason)s)") % {"reason": exc},
                table="model",
                key="postcode_pattern",
            )
            return None
        for language in header.languages:
            if language not in header.name:
                self.error(
                    _('has no text for language "%(language)s"') % {"language": language},
                    table="model",
                    key="name",
                )
        return header

    def _statistics(self, raw, header: ModelHeader | None) -> StatisticsSpec | None:
        """[statistics] is a single table; its k must agree with [model] if both set it."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.error(_("must be a table, written [statistics]"), table="statistics")
            return None
        try:
            statistics = StatisticsSpec.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                self.error(pydantic_message(err), table="statistics", key=_loc(err))
            return None
        if (
            header is not None
            and "statistics_threshold" in header.model_fields_set
            and header.statistics_threshold != statistics.k
        ):
            self.error(
                _("k = %(k)s contradicts statistics_threshold = %(old)s in [model]; set k only")
                % {"k": statistics.k, "old": header.statistics_threshold},
                table="statistics",
                key="k",
            )
        return statistics

    def _table(self, name: str, raw) -> list:
        schema, name_key = TABLES[name]
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.error(
                _("must be an array of tables, written [[%(name)s]]") % {"name": name}, table=name
            )
            return []
        entries = []
        for index, item in enumerate(raw, start=1):
            try:
                entries.append(schema.model_validate(item))
            except ValidationError as exc:
                label = item.get(name_key) if isinstance(item.get(name_key), str) else ""
                for err in exc.errors():
                    self.error(
                        pydantic_message(err), table=name, index=index, entry=label, key=_loc(err)
                    )
                entries.append(None)
        return entries

    # -- cross checks ---------------------------------------------------------------------

    def _each(self, spec: ModelSpec, table: str):
        name_key = TABLES[table][1]
        for index, entry in enumerate(spec.entries(table), start=1):
            if entry is not None:
                yield index, getattr(entry, name_key), entry

    def _codes(self, spec: ModelSpec, table: str) -> set[str]:
        return {entry.code for entry in spec.entries(table) if entry is not None}

    def _labels(self, spec: ModelSpec) -> None:
        languages = spec.header.languages
        for table in TABLES:
            for index, name, entry in self._each(spec, table):
                for key in ("label", "name", "description"):
                    texts = getattr(entry, key, None)
                    if not isinstance(texts, dict) or (key == "description" and not texts):
                        continue
                    where = {"table": table, "index": index, "entry": name, "key": key}
                    for language in languages:
                        if language not in texts:
                            self.error(
                                _('has no text for language "%(language)s"')
                                % {"language": language},
                                **where,
                            )
                    for language in sorted(set(texts) - set(languages)):
                        self.error(
                            _('has text for language "%(language)s", which [model] does not list')
                            % {"language": language},
                            **where,
                        )

    def _unique_codes(self, spec: ModelSpec) -> None:
        for table in TABLES:
            seen: dict[str, int] = {}
            for index, name, entry in self._each(spec, table):
                if entry.code in seen:
                    self.error(
                        _('code "%(code)s" is already used by entry %(other)s')
                        % {"code": entry.code, "other": seen[entry.code]},
                        table=table,
                        index=index,
                        entry=name,
                        key="code",
                    )
                else:
                    seen[entry.code] = index

    def _reference(self, known: set[str], value: str, what: str, **where) -> bool:
        if value in known:
            return True
        self.error(_('%(what)s "%(value)s" is not known') % {"what": what, "value": value}, **where)
        return False

    def _references(self, spec: ModelSpec) -> None:
        sectors = self._codes(spec, "sectors")
        for index, name, entry in self._each(spec, "organisation_types"):
            self._reference(
                sectors,
                entry.sector,
                _("sector"),
                table="organisation_types",
                index=index,
                entry=name,
                key="sector",
            )
        contact_categories = self._codes(spec, "contact_categories")
        for index, name, entry in self._each(spec, "closing_reasons"):
            self._reference(
                contact_categories,
                entry.contact_category,
                _("contact category"),
                table="closing_reasons",
                index=index,
                entry=name,
                key="contact_category",
            )
        categories = self._codes(spec, "information_categories")
        if "information_categories" in spec.tables:
            for code in BASE_INFORMATION_CATEGORIES:
                if code not in categories:
                    self.error(
                        _('must include "%(code)s" (every model has the base categories)')
                        % {"code": code},
                        table="information_categories",
                    )
        self._scopes(spec, sectors, categories)
        for index, name, entry in self._each(spec, "first_analysis"):
            if entry.event is not None and entry.event not in HOTLINE_EVENTS:
                self.error(
                    _('event "%(code)s" is not a hotline event (%(events)s)')
                    % {"code": entry.event, "events": ", ".join(HOTLINE_EVENTS)},
                    table="first_analysis",
                    index=index,
                    entry=name,
                    key="event",
                )
        for table in ("caller_categories", "contact_categories", "information_categories"):
            if table in spec.tables and not self._codes(spec, table):
                self.error(_("must have at least one entry"), table=table)

    def _outcomes(self, spec: ModelSpec) -> None:
        """Outcome dimensions name known categories, have each level in every language and
        at most one headline; goal templates name known dimensions."""
        categories = self._codes(spec, "information_categories")
        languages = spec.header.languages
        headlines = 0
        for index, name, entry in self._each(spec, "outcome_dimensions"):
            where = {"table": "outcome_dimensions", "index": index, "entry": name}
            self._reference(
                categories, entry.category, _("information category"), key="category", **where
            )
            headlines += entry.headline
            if headlines > 1 and entry.headline:
                self.error(_("only one dimension may be the headline"), key="headline", **where)
            for level, texts in enumerate(entry.levels):
                missing = [language for language in languages if language not in texts]
                if missing:
                    self.error(
                        _('has no text for language "%(language)s"') % {"language": missing[0]},
                        key=f"levels.{level}",
                        **where,
                    )
        dimensions = self._codes(spec, "outcome_dimensions")
        for index, name, entry in self._each(spec, "goal_templates"):
            self._reference(
                dimensions,
                entry.dimension,
                _("outcome dimension"),
                table="goal_templates",
                index=index,
                entry=name,
                key="dimension",
            )

    def _scopes(self, spec: ModelSpec, sectors: set[str], categories: set[str]) -> None:
        """Case roles name known sectors and categories, and never grant by scope what a
        sector may only receive by disclosure."""
        forbidden = {
            entry.code: set(entry.never_by_scope)
            for entry in spec.entries("sectors")
            if entry is not None
        }
        for index, name, entry in self._each(spec, "sectors"):
            for code in entry.never_by_scope:
                self._reference(
                    categories,
                    code,
                    _("information category"),
                    table="sectors",
                    index=index,
                    entry=name,
                    key="never_by_scope",
                )
        leads = 0
        for index, name, entry in self._each(spec, "case_roles"):
            where = {"table": "case_roles", "index": index, "entry": name}
            leads += entry.lead
            for code in entry.sectors:
                self._reference(sectors, code, _("sector"), key="sectors", **where)
            for key in ("read", "write"):
                for code in getattr(entry, key):
                    self._reference(categories, code, _("information category"), key=key, **where)
            for code in sorted(set(entry.write) - set(entry.read)):
                self.error(
                    _('writes "%(code)s" but cannot read it') % {"code": code}, key="write", **where
                )
            for sector in entry.sectors:
                for code in sorted(forbidden.get(sector, set()) & set(entry.read)):
                    self.error(
                        _(
                            'grants "%(code)s" by scope to sector "%(sector)s", which receives it '
                            "only by disclosure"
                        )
                        % {"code": code, "sector": sector},
                        key="read",
                        **where,
                    )
        if "case_roles" in spec.tables and leads != 1:
            self.error(_("exactly one case role must lead (lead = true)"), table="case_roles")

    def _protocols(self, spec: ModelSpec) -> None:
        """Protocols must be free of errors (unknown references, contradictions) to load."""

        vocab = vocabulary_of(spec)
        for index, name, protocol in self._each(spec, "protocols"):
            for finding in check(protocol, vocab):
                if finding.level == "error":
                    self.error(
                        str(finding).removeprefix("error: "),
                        table="protocols",
                        index=index,
                        entry=name,
                        key="rules",
                    )

    def _retention(self, spec: ModelSpec, raw) -> RetentionSpec | None:
        """The optional [retention] table; its categories must be the model's own."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.error(_("must be a table, written [retention]"), table="retention")
            return None
        try:
            retention = RetentionSpec.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                self.error(pydantic_message(err), table="retention", key=_loc(err))
            return None
        categories = self._codes(spec, "information_categories")
        for code in retention.category_years:
            self._reference(
                categories,
                code,
                _("information category"),
                table="retention",
                key=f"category_years.{code}",
            )
        return retention

    def _federation(self, spec: ModelSpec, raw) -> FederationSpec | None:
        """The optional [federation] table and its [[federation.agreements]]."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.error(_("must be a table, written [federation]"), table="federation")
            return None
        raw = dict(raw)
        raw_agreements = raw.pop("agreements", [])
        header = None
        try:
            header = FederationHeader.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                self.error(pydantic_message(err), table="federation", key=_loc(err))
        if header is not None:
            self._model_languages(spec, header.name, table="federation", key="name")
        table = "federation.agreements"
        if not isinstance(raw_agreements, list) or not all(
            isinstance(item, dict) for item in raw_agreements
        ):
            self.error(
                _("must be an array of tables, written [[%(name)s]]") % {"name": table},
                table=table,
            )
            return None
        agreements: list[FederationAgreement] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(raw_agreements, start=1):
            label = item.get("code") if isinstance(item.get("code"), str) else ""
            try:
                agreement = FederationAgreement.model_validate(item)
            except ValidationError as exc:
                for err in exc.errors():
                    self.error(
                        pydantic_message(err), table=table, index=index, entry=label, key=_loc(err)
                    )
                continue
            where = {"table": table, "index": index, "entry": agreement.code}
            if agreement.code in seen:
                self.error(
                    _('code "%(code)s" is already used by entry %(other)s')
                    % {"code": agreement.code, "other": seen[agreement.code]},
                    key="code",
                    **where,
                )
            else:
                seen[agreement.code] = index
            self._agreement(spec, header, agreement, where)
            agreements.append(agreement)
        if header is None:
            return None
        return FederationSpec(
            installation=header.installation, name=dict(header.name), agreements=agreements
        )

    def _model_languages(self, spec: ModelSpec, texts: dict, **where) -> None:
        for language in spec.header.languages:
            if language not in texts:
                self.error(
                    _('has no text for language "%(language)s"') % {"language": language}, **where
                )
        for language in sorted(set(texts) - set(spec.header.languages)):
            self.error(
                _('has text for language "%(language)s", which [model] does not list')
                % {"language": language},
                **where,
            )

    def _agreement(self, spec: ModelSpec, header, agreement: FederationAgreement, where) -> None:
        if header is not None and agreement.partner == header.installation:
            self.error(
                _('the partner must be another installation than "%(code)s"')
                % {"code": header.installation},
                key="partner",
                **where,
            )
        problem = _address_problem(agreement.address)
        if problem:
            self.error(problem, key="address", **where)
        try:
            key = base64.b64decode(agreement.public_key, validate=True)
        except (binascii.Error, ValueError):
            self.error(_("must be base64 text"), key="public_key", **where)
        else:
            if len(key) != ED25519_KEY_BYTES:
                self.error(
                    _("must be a raw Ed25519 public key of %(expected)s bytes, not %(count)s")
                    % {"expected": ED25519_KEY_BYTES, "count": len(key)},
                    key="public_key",
                    **where,
                )
        if agreement.valid_until is not None and agreement.valid_until < agreement.valid_from:
            self.error(_("must not lie before valid_from"), key="valid_until", **where)
        self._reference(
            self._codes(spec, "case_closing_reasons"),
            agreement.closing_reason,
            _("case closing reason"),
            key="closing_reason",
            **where,
        )
        organisations = self._codes(spec, "organisations")
        for code in agreement.organisations:
            self._reference(organisations, code, _("organisation"), key="organisations", **where)
        if agreement.label:
            self._model_languages(spec, agreement.label, key="label", **where)
        kept = _kept_from_sectors(spec)
        for direction in ("send", "receive"):
            purposes: dict[str, int] = {}
            for number, term in enumerate(getattr(agreement, direction), start=1):
                self._agreement_term(spec, term, f"{direction}.{number}", purposes, kept, where)

    def _agreement_term(
        self,
        spec: ModelSpec,
        term: FederationDirection,
        key: str,
        purposes: dict[str, int],
        kept: dict[str, dict[str, str]],
        where: dict,
    ) -> None:
        """One send or receive entry: known references, categories fit the purpose, and no
        category this model keeps from the receiving sector."""
        direction = key.split(".")[0]
        if term.purpose in purposes:
            self.error(
                _('purpose "%(purpose)s" already appears in %(key)s')
                % {"purpose": term.purpose, "key": f"{direction}.{purposes[term.purpose]}"},
                key=f"{key}.purpose",
                **where,
            )
        else:
            purposes[term.purpose] = int(key.split(".")[1])
        categories = self._codes(spec, "information_categories")
        for code in term.categories:
            self._reference(
                categories, code, _("information category"), key=f"{key}.categories", **where
            )
        if term.purpose == "handover":
            if not term.categories:
                self.error(
                    _("a handover must name at least one category"),
                    key=f"{key}.categories",
                    **where,
                )
            if term.receiving_sector is None:
                self.error(_("is required for a handover"), key=f"{key}.receiving_sector", **where)
        elif term.categories:
            self.error(
                _("must be empty: a %(purpose)s carries no case content")
                % {"purpose": term.purpose},
                key=f"{key}.categories",
                **where,
            )
        self._reference(
            self._codes(spec, "legal_bases"),
            term.legal_basis,
            _("legal basis"),
            key=f"{key}.legal_basis",
            **where,
        )
        sector = term.receiving_sector
        if sector is None:
            return
        if not self._reference(
            self._codes(spec, "sectors"),
            sector,
            _("sector"),
            key=f"{key}.receiving_sector",
            **where,
        ):
            return
        for code in term.categories:
            if code in kept.get(sector, {}):
                self.error(
                    _(
                        "category %(category)s may not cross to sector %(sector)s: "
                        "this model keeps it from that sector (%(why)s)"
                    )
                    % {"category": code, "sector": sector, "why": kept[sector][code]},
                    key=f"{key}.categories",
                    **where,
                )

    def _regions(self, spec: ModelSpec) -> None:
        regions = {entry.code: entry for entry in spec.entries("regions") if entry is not None}
        roots = [r for r in regions.values() if r.level == "country"]
        if "regions" in spec.tables and len(roots) != 1:
            self.error(_('must have exactly one region of level "country"'), table="regions")
        for index, name, entry in self._each(spec, "regions"):
            where = {"table": "regions", "index": index, "entry": name}
            if entry.level == "country":
                if entry.parent is not None:
                    self.error(
                        _("a region of level country must not have a parent"), key="parent", **where
                    )
                if entry.code != spec.header.country:
                    self.error(
                        _('the country region must have the code "%(code)s" from [model]')
                        % {"code": spec.header.country},
                        key="code",
                        **where,
                    )
                continue
            if entry.parent is None:
                self.error(_("is required"), key="parent", **where)
                continue
            if not self._reference(set(regions), entry.parent, _("region"), key="parent", **where):
                continue
            parent = regions[entry.parent]
            if REGION_LEVELS.index(parent.level) >= REGION_LEVELS.index(entry.level):
                self.error(
                    _('a region of level "%(level)s" cannot lie inside one of level "%(parent)s"')
                    % {"level": entry.level, "parent": parent.level},
                    key="parent",
                    **where,
                )

    def _postcodes(self, spec: ModelSpec, digest) -> list[PostcodeRow]:
        table = "model"
        path = self.path.parent / spec.header.postcode_file
        try:
            raw = path.read_bytes()
        except OSError:
            self.error(
                _('postcode file "%(name)s" not found next to the model file')
                % {"name": spec.header.postcode_file},
                table=table,
                key="postcode_file",
            )
            return []
        digest.update(raw)
        regions = {entry.code: entry for entry in spec.entries("regions") if entry is not None}
        pattern = re.compile(spec.header.postcode_pattern)
        reader = csv.reader(raw.decode("utf-8").splitlines())
        header = next(reader, [])
        if header != POSTCODE_COLUMNS:
            self.errors.append(
                ModelError(
                    path.name,
                    _("the header must be %(columns)s") % {"columns": ",".join(POSTCODE_COLUMNS)},
                    line=1,
                )
            )
            return []
        rows: list[PostcodeRow] = []
        seen: set[str] = set()
        for line, record in enumerate(reader, start=2):
            problem = None
            if len(record) != 4:
                problem = _("expected 4 columns, found %(count)s") % {"count": len(record)}
            else:
                postcode, region, lat, lon = record
                if not pattern.fullmatch(postcode):
                    problem = _('postcode "%(value)s" does not match postcode_pattern') % {
                        "value": postcode
                    }
                elif postcode in seen:
                    problem = _('postcode "%(value)s" appears twice') % {"value": postcode}
                elif region not in regions:
                    problem = _('region "%(value)s" is not a known region') % {"value": region}
                elif _state_of(region, regions) is None:
                    problem = _('region "%(value)s" lies in no federal state') % {"value": region}
                else:
                    try:
                        coordinates = _coordinates(lat, lon)
                    except ValueError as exc:
                        problem = str(exc)
            if problem:
                self.errors.append(ModelError(path.name, problem, line=line))
                if len(self.errors) > 50:
                    return []
                continue
            seen.add(postcode)
            rows.append(PostcodeRow(postcode, region, *coordinates))
        return rows

    def _organisations(self, spec: ModelSpec) -> None:
        types = self._codes(spec, "organisation_types")
        services = self._codes(spec, "services")
        languages = self._codes(spec, "languages")
        regions = {entry.code: entry for entry in spec.entries("regions") if entry is not None}
        postcodes = {row.postcode: row.region for row in spec.postcodes}
        pattern = re.compile(spec.header.postcode_pattern)
        hotlines = 0
        for index, name, entry in self._each(spec, "organisations"):
            where = {"table": "organisations", "index": index, "entry": name}
            hotlines += entry.hotline
            self._reference(types, entry.type, _("organisation type"), key="type", **where)
            region = entry.region
            if region is not None:
                self._reference(set(regions), region, _("region"), key="region", **where)
            if not pattern.fullmatch(entry.postcode):
                self.error(
                    _('postcode "%(value)s" does not match postcode_pattern')
                    % {"value": entry.postcode},
                    key="postcode",
                    **where,
                )
            elif region is None:
                region = postcodes.get(entry.postcode) or _region_by_prefix(entry.postcode, regions)
                if region is None:
                    self.error(
                        _(
                            'postcode "%(value)s" is not in this model\'s postcode data; '
                            "correct it or set region"
                        )
                        % {"value": entry.postcode},
                        key="postcode",
                        **where,
                    )
            if region:
                spec.organisation_regions[entry.code] = region
            if entry.coordinates is not None:
                self._organisation_coordinates(entry, spec, where)
            covered: set[str] = set()
            for number, cover in enumerate(entry.coverage, start=1):
                key = f"coverage.{number}"
                for code in cover.regions:
                    self._reference(set(regions), code, _("region"), key=f"{key}.regions", **where)
                    if code in covered:
                        self.error(
                            _('region "%(code)s" appears in more than one coverage')
                            % {"code": code},
                            key=f"{key}.regions",
                            **where,
                        )
                    covered.add(code)
                for code in cover.services:
                    self._reference(services, code, _("service"), key=f"{key}.services", **where)
                for code in cover.languages:
                    self._reference(languages, code, _("language"), key=f"{key}.languages", **where)
        if "organisations" in spec.tables and hotlines > 1:
            self.error(
                _("at most one organisation can be the central hotline"), table="organisations"
            )

    def _organisation_coordinates(self, entry, spec: ModelSpec, where: dict) -> None:
        """Coordinates must be on the globe and, where the postcode has a centre, near it.

        The distance check catches swapped latitude and longitude, the commonest slip.
        """
        try:
            latitude, longitude = _coordinates(*entry.coordinates)
        except ValueError as exc:
            self.error(str(exc), key="coordinates", **where)
            return
        centre = spec.postcode_centres.get(entry.postcode)
        if centre is None:
            return
        distance = _kilometres((latitude, longitude), centre)
        if distance > MAX_SEAT_DISTANCE_KM:
            self.error(
                _("coordinates lie %(km)d km from postcode %(postcode)s (latitude first?)")
                % {"km": distance, "postcode": entry.postcode},
                key="coordinates",
                **where,
            )


def _address_problem(address: str) -> str | None:
    """An agreement's address is an https base URL (http only for a loopback host)."""
    try:
        parts = urlsplit(address)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return _("is not a valid URL")
    if parts.scheme not in ("https", "http") or not host:
        return _("must be an https URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        return _("must be a base URL, without user, query or fragment")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return _("must use https (http only for 127.0.0.1, localhost or ::1)")
    return None


def _kept_from_sectors(spec: ModelSpec) -> dict[str, dict[str, str]]:
    """sector -> {category: why} for every category this model keeps from the sector: its
    never_by_scope, and the categories of every must_not_share rule whose recipient is the
    sector, an organisation type of it, or everybody."""
    type_sectors = {t.code: t.sector for t in spec.entries("organisation_types") if t is not None}
    kept: dict[str, dict[str, str]] = {}
    sectors = [entry for entry in spec.entries("sectors") if entry is not None]
    for sector in sectors:
        kept[sector.code] = {code: "never_by_scope" for code in sector.never_by_scope}
    for protocol in spec.entries("protocols"):
        if protocol is None:
            continue
        for rule in protocol.rules:
            if rule.obligation != "must_not_share":
                continue
            recipient = rule.recipient
            for sector in sectors:
                if (
                    recipient.all
                    or recipient.sector == sector.code
                    or (
                        recipient.organisation_type is not None
                        and type_sectors.get(recipient.organisation_type) == sector.code
                    )
                ):
                    for code in rule.categories:
                        kept[sector.code].setdefault(code, f"{protocol.code}/{rule.code}")
    return kept


def _kilometres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in kilometres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _coordinates(lat, lon) -> tuple[float | None, float | None]:
    if lat in ("", None) and lon in ("", None):
        return None, None
    try:
        latitude, longitude = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ValueError(_("coordinates must be numbers")) from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError(
            _("coordinates %(lat)s, %(lon)s are outside the globe") % {"lat": lat, "lon": lon}
        )
    return latitude, longitude


def _state_of(code: str, regions: dict) -> str | None:
    node = regions.get(code)
    while node is not None:
        if node.level == "state":
            return node.code
        node = regions.get(node.parent) if node.parent else None
    return None


def _region_by_prefix(postcode: str, regions: dict) -> str | None:
    """Return the region whose longest postcode prefix matches, for models without a file."""
    compact = postcode.replace(" ", "").upper()
    best, best_len = None, 0
    for region in regions.values():
        for prefix in region.postcode_prefixes:
            if compact.startswith(prefix) and len(prefix) > best_len:
                best, best_len = region.code, len(prefix)
    return best


def vocabulary_of(spec: ModelSpec):
    """The codes a protocol in this model may refer to."""

    types = {t.code: t.sector for t in spec.entries("organisation_types") if t is not None}
    return Vocabulary(
        categories=frozenset(t.code for t in spec.entries("information_categories") if t),
        legal_bases={t.code: t.kind for t in spec.entries("legal_bases") if t is not None},
        roles=frozenset(t.code for t in spec.entries("case_roles") if t is not None),
        organisation_types=types,
        sectors=frozenset(t.code for t in spec.entries("sectors") if t is not None),
    )
