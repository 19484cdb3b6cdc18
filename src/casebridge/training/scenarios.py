"""Role-play scenarios: TOML files under ``training/scenarios/``, validated with clear errors.

A scenario is a fictitious case (parties that take part, in the cooperation model's
organisation types and case roles) and a sequence of events the SOP engine reacts to.
Nothing here touches the database: ``parse_scenario()`` checks one file's shape and
``check_references()`` checks its codes against a vocabulary (the loaded model's or a
model file's), both naming the file, the entry and the key of every error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticError

from casebridge.cooperation_models.schema import CODE_PATTERN, pydantic_message
from casebridge.labels import pick_label
from casebridge.sop.events import EVENTS

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
LANGUAGES = ("de", "en")

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PartySpec(_Strict):
    """An organisation of the fictitious case; a participant of the run plays it."""

    code: Code
    label: dict[str, Text]  # the role as players see it: "NGO counsellor"
    organisation: Text  # a fictitious name
    organisation_type: Code
    case_role: Code
    # The event number from which the party takes part in the case (1 = from the start);
    # 0 = it never joins the case but is played (e.g. the police in a case without them).
    joins_at: int = Field(default=1, ge=0, le=50)


class EventSpec(_Strict):
    event: Code
    likelihood: Literal["unlikely", "likely", "predominantly_likely", "very_likely"] | None = None
    imminence: Literal["not_foreseeable", "medium_term", "imminent"] | None = None
    days_until: int | None = Field(default=None, ge=0, le=730)  # release date, days ahead
    title: dict[str, Text]
    text: dict[str, LongText]


class ScenarioSpec(_Strict):
    code: Code
    version: Text
    protocol: Code
    fictitious: Literal[True]  # the file declares that every name in it is invented
    title: dict[str, Text]
    summary: dict[str, LongText]
    parties: list[PartySpec] = Field(min_length=2, max_length=8)
    events: list[EventSpec] = Field(min_length=1, max_length=20)

    @property
    def label(self) -> str:
        return pick_label(self.title, fallback=self.code)

    @property
    def summary_text(self) -> str:
        return pick_label(self.summary)

    def party(self, code: str) -> PartySpec | None:
        return next((p for p in self.parties if p.code == code), None)


@dataclass(frozen=True)
class ScenarioError:
    file: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.where}: {self.message}"
            if self.where
            else (f"{self.file}: {self.message}")
        )


class ScenarioInvalid(Exception):
    def __init__(self, errors: list[ScenarioError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _where(loc: tuple) -> str:
    parts, text = list(loc), ""
    while parts:
        part = parts.pop(0)
        if isinstance(part, int):
            text += f" {part + 1}"
        else:
            text += ("" if not text else ": ") + (
                f"[[{part}]]" if part in ("parties", "events") else _("key %(key)s") % {"key": part}
            )
    return text.strip()


def parse_scenario(path: Path) -> ScenarioSpec:
    """Read one scenario file; raise ``ScenarioInvalid`` with every error of its shape."""
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioInvalid([ScenarioError(name, _("file not found"))]) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioInvalid(
            [ScenarioError(name, _("not valid TOML: %(reason)s") % {"reason": exc})]
        ) from None
    try:
        spec = ScenarioSpec.model_validate(data)
    except PydanticError as exc:
        raise ScenarioInvalid(
            [ScenarioError(name, pydantic_message(e), _where(e["loc"])) for e in exc.errors()]
        ) from None
    errors = _shape_errors(name, spec)
    if errors:
        raise ScenarioInvalid(errors)
    return spec


def _shape_errors(name: str, spec: ScenarioSpec) -> list[ScenarioError]:
    errors: list[ScenarioError] = []

    def error(message: str, where: str = "") -> None:
        errors.append(ScenarioError(name, message, where))

    def languages(texts: dict, where: str) -> None:
        for language in LANGUAGES:
            if language not in texts:
                error(_("needs a text in %(language)s") % {"language": language}, where)

    languages(spec.title, _("key %(key)s") % {"key": "title"})
    languages(spec.summary, _("key %(key)s") % {"key": "summary"})
    seen_codes: set[str] = set()
    seen_roles: set[str] = set()
    for number, party in enumerate(spec.parties, start=1):
        where = f"[[parties]] {number}"
        languages(party.label, where + ": " + _("key %(key)s") % {"key": "label"})
        if party.code in seen_codes:
            error(_('party code "%(code)s" is used twice') % {"code": party.code}, where)
        if party.case_role in seen_roles:
            error(
                _('case role "%(code)s" is taken by two parties') % {"code": party.case_role},
                where,
            )
        seen_codes.add(party.code)
        seen_roles.add(party.case_role)
        if party.joins_at > len(spec.events):
            error(_("joins_at is after the last event"), where)
    if not any(p.joins_at == 1 for p in spec.parties):
        error(_("at least one party must take part from the first event"))
    for number, event in enumerate(spec.events, start=1):
        where = f"[[events]] {number}"
        languages(event.title, where + ": " + _("key %(key)s") % {"key": "title"})
        languages(event.text, where + ": " + _("key %(key)s") % {"key": "text"})
        if event.event not in EVENTS or event.event == "always":
            error(_('event "%(code)s" is not known') % {"code": event.event}, where)
        risk = event.likelihood is not None or event.imminence is not None
        if event.event == "risk_judgement_recorded" and (
            event.likelihood is None or event.imminence is None
        ):
            error(_("a risk judgement needs likelihood and imminence"), where)
        if risk and event.event != "risk_judgement_recorded":
            error(_("likelihood and imminence belong to a risk judgement event"), where)
        if (event.event == "release_scheduled") != (event.days_until is not None):
            error(_("days_until is needed for a release, and only there"), where)
        if event.event == "participant_added" and not any(
            p.joins_at == number for p in spec.parties
        ):
            error(_("participant_added needs a party whose joins_at is this event"), where)
    return errors


def check_references(spec: ScenarioSpec, vocabulary, *, file: str = "") -> list[ScenarioError]:
    """Codes the loaded cooperation model does not know (``vocabulary`` is a sop.Vocabulary)."""
    file = file or f"{spec.code}.toml"
    errors = []
    for number, party in enumerate(spec.parties, start=1):
        where = f"[[parties]] {number}"
        if party.organisation_type not in vocabulary.organisation_types:
            errors.append(
                ScenarioError(
                    file,
                    _('organisation type "%(code)s" is not known')
                    % {"code": party.organisation_type},
                    where,
                )
            )
        if party.case_role not in vocabulary.roles:
            errors.append(
                ScenarioError(
                    file, _('case role "%(code)s" is not known') % {"code": party.case_role}, where
                )
            )
    return errors


def scenario_files(directory: Path = SCENARIOS_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


_cache: dict[Path, tuple[float, ScenarioSpec]] = {}


def load_scenarios(directory: Path = SCENARIOS_DIR) -> dict[str, ScenarioSpec]:
    """Every scenario in the directory by code; raise ``ScenarioInvalid`` on any error."""
    found: dict[str, ScenarioSpec] = {}
    errors: list[ScenarioError] = []
    for path in scenario_files(directory):
        mtime = path.stat().st_mtime
        cached = _cache.get(path)
        try:
            spec = cached[1] if cached and cached[0] == mtime else parse_scenario(path)
        except ScenarioInvalid as exc:
            errors += exc.errors
            continue
        _cache[path] = (mtime, spec)
        if spec.code in found:
            errors.append(
                ScenarioError(
                    path.name, _('scenario code "%(code)s" is used twice') % {"code": spec.code}
                )
            )
        found[spec.code] = spec
    if errors:
        raise ScenarioInvalid(errors)
    return found
