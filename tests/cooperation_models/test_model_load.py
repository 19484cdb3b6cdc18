"""Loading is idempotent, updates what changed, retires instead of deleting, writes nothing
when invalid, and another country's model loads into the same format."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from casebridge.accounts.models import Membership, Role, User
from casebridge.audit.models import AuditEvent
from casebridge.cases.models import Participant
from casebridge.cases.services import case_open, participant_add
from casebridge.cooperation_models.models import CooperationModel, Term
from casebridge.cooperation_models.schema import ModelInvalid, parse_model
from casebridge.network.models import Coverage, Organisation, PostcodeArea, Region
from casebridge.network.selectors import region_for_postcode
from casebridge.ops.model_load import ModelConflict, model_load

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "models"
GERMANY = Path(__file__).resolve().parents[2] / "src" / "casebridge" / "cooperation_models"


def test_loading_the_same_model_again_changes_nothing(germany_spec):
    events = AuditEvent.objects.count()
    report = model_load(spec=germany_spec)
    assert not report.changed, report.lines()
    assert AuditEvent.objects.count() == events


def _edited_copy(tmp_path: Path, replace: dict[str, str]) -> Path:
    text = (GERMANY / "germany.toml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    (tmp_path / "germany-postcodes.csv").write_bytes(
        (GERMANY / "germany-postcodes.csv").read_bytes()
    )
    path = tmp_path / "germany.toml"
    path.write_text(text)
    return path


def test_edited_model_updates_what_changed_and_retires_what_is_gone(
    tmp_path, germany_spec, personas
):
    hotline_org = Organisation.objects.get(is_hotline=True)
    dropped = germany_spec.entries("concern_topics")[-1].code
    text = (GERMANY / "germany.toml").read_text()
    block_start = text.rindex("[[concern_topics]]")
    assert f'code = "{dropped}"' in text[block_start:].split("\n[[")[0]
    block_end = text.find("\n[[", block_start + 1)
    block_end = len(text) if block_end == -1 else block_end
    path = _edited_copy(
        tmp_path,
        {
            'version = "2026.1"': 'version = "2026.2"',
            text[block_start:block_end]: "",
        },
    )
    report = model_load(spec=parse_model(str(path)))
    assert report.updated["model"] == 1
    assert report.retired["concern_topic"] == 1
    topic = Term.objects.get(kind="concern_topic", code=dropped)
    assert topic.active is False  # retired, not deleted
    assert CooperationModel.objects.get().version == "2026.2"
    assert Organisation.objects.filter(pk=hotline_org.pk).exists()
    event = AuditEvent.objects.filter(action="cooperation_model.load").latest("id")
    assert event.details["retired"] == 1


def test_organisation_dropped_from_the_file_is_retired_with_its_people(
    tmp_path, germany_spec, personas
):
    partner_org = personas.partner.memberships.get().organisation
    text = (GERMANY / "germany.toml").read_text()
    start = text.index(f'code = "{partner_org.code}"')
    block_start = text.rindex("[[organisations]]", 0, start)
    block_end = text.find("\n[[organisations]]", start)
    path = _edited_copy(tmp_path, {text[block_start:block_end]: ""})
    model_load(spec=parse_model(str(path)))
    partner_org.refresh_from_db()
    assert partner_org.active is False
    assert personas.partner.memberships.get().organisation_id == partner_org.pk


def test_invalid_model_writes_nothing(tmp_path):
    path = _edited_copy(tmp_path, {'type = "prison"': 'type = "gaol"'})
    counts = (Organisation.objects.count(), Term.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ModelInvalid) as caught:
        model_load(spec=parse_model(str(path)))
    assert 'organisation type "gaol" is not known' in str(caught.value)
    assert (
        Organisation.objects.count(),
        Term.objects.count(),
        AuditEvent.objects.count(),
    ) == counts


def test_germany_covers_every_state_with_a_counselling_partner():
    states = set(Region.objects.filter(level="state").values_list("code", flat=True))
    covered = set(
        Coverage.objects.filter(
            organisation__type__sector__code__in=["counselling_ngo", "state_counselling"],
            organisation__is_hotline=False,
        ).values_list("region__code", flat=True)
    )
    assert states == covered
    assert Organisation.objects.filter(is_hotline=True).count() == 1
    police = Organisation.objects.filter(type__code="police_liaison_unit")
    assert {o.region.code for o in police} == states
    for type_code in ("prison", "probation_service", "youth_welfare_office", "school"):
        assert Organisation.objects.filter(type__code=type_code).exists(), type_code


def test_germany_has_the_seeds_seven_caller_categories_in_order():
    codes = list(Term.objects.of("caller_category").values_list("code", flat=True))
    assert codes == [
        "parents_relatives",
        "professional_environment",
        "private_environment",
        "school",
        "employer",
        "authority",
        "affected_person",
    ]


def test_another_model_cannot_be_loaded_into_this_database():
    spec = parse_model(str(FIXTURES / "netherlands-safety-house.toml"))
    with pytest.raises(ModelConflict, match='runs on model "germany"'):
        model_load(spec=spec)


def test_dutch_safety_house_model_loads_and_resolves_postcodes():
    """The format expresses a Dutch Zorg- en Veiligheidshuis region (no postcode file)."""
    CooperationModel.objects.all().delete()
    PostcodeArea.objects.all().delete()
    spec = parse_model(str(FIXTURES / "netherlands-safety-house.toml"))
    report = model_load(spec=spec)
    assert report.created["organisation"] == len(spec.entries("organisations"))
    assert Organisation.objects.filter(type__code="safety_house", active=True).exists()
    place = region_for_postcode("1011 AB")
    assert [r.code for r in place.path][:2] == ["NL", "NL-NH"]
    assert place.region.level == "municipality"
    # The German organisations are retired, not deleted.
    assert Organisation.objects.filter(is_hotline=True, active=False).exists()


def test_rotterdam_partner_model_loads_and_runs_cases():
    """The Dutch partner installation of the federation tests: it loads into a database
    of its own and a partner counsellor of the Rotterdam NGO opens a case there."""
    CooperationModel.objects.all().delete()
    PostcodeArea.objects.all().delete()
    spec = parse_model(str(FIXTURES / "netherlands-rotterdam.toml"))
    assert spec.federation is None
    report = model_load(spec=spec)
    assert report.created["organisation"] == len(spec.entries("organisations"))
    assert CooperationModel.objects.get().code == "netherlands-rotterdam"
    ngo = Organisation.objects.get(name="Stichting Perspectief Rotterdam")
    assert ngo.region.code == "NL-GM0599"
    assert [c.region.code for c in Coverage.objects.filter(organisation=ngo)] == ["NL-ZH"]
    assert [r.code for r in region_for_postcode("3011 AB").path][:2] == ["NL", "NL-ZH"]
    police = Organisation.objects.get(name="Politie Rotterdam")
    assert police.type.sector.two_factor
    assert Term.objects.of("case_closing_reason").filter(code="moved").exists()

    counsellor = User.objects.create_user(username="noor", password="x" * 16, language="nl")
    Membership.objects.create(user=counsellor, organisation=ngo, role=Role.PARTNER_COUNSELLOR)
    case = case_open(actor=counsellor, owner=ngo, pseudonym="R-1")
    lead = Participant.objects.get(case=case)
    assert lead.role.code == "lead_counselling"
    assert "counselling" in {c.code for c in lead.read_categories.all()}
    officer = User.objects.create_user(username="bram", password="x" * 16, language="nl")
    Membership.objects.create(user=officer, organisation=police, role=Role.SECURITY_LIAISON)
    liaison = participant_add(
        actor=counsellor,
        case=case,
        organisation=police,
        role=Term.objects.of("case_role").get(code="police_liaison"),
        members=[officer],
    )
    # counselling reaches the security sector only by disclosure, never by scope
    assert {c.code for c in liaison.read_categories.all()} == {"case_coordination", "security"}
