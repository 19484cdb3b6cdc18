"""[federation] in the model file: agreements with partner installations are checked
(references, addresses, keys, purposes, and no category crossing to a sector this model
keeps it from) and loaded as ``federation.Agreement`` rows, idempotently."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils import translation

from casebridge.cooperation_models.models import CooperationModel
from casebridge.cooperation_models.schema import ModelInvalid, parse_model
from casebridge.federation.models import Agreement
from casebridge.network.models import Organisation
from casebridge.ops.model_load import model_load

GERMANY = Path(__file__).resolve().parents[2] / "src" / "casebridge" / "cooperation_models"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def public_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


KEY = public_key()
FEDERATION = f"""
[federation]
installation = "de-hotline"
name = {{ de = "Beratungsstelle Radikalisierung", en = "Advice Centre on Radicalisation" }}

[[federation.agreements]]
code = "hamburg-rotterdam"
version = "2026.1"
partner = "nl-rotterdam"
partner_name = {{ en = "Casebridge Rotterdam", nl = "Casebridge Rotterdam" }}
address = "https://casebridge.example.nl/"
public_key = "{KEY}"
valid_from = 2026-01-01
valid_until = 2028-12-31
copies_kept_days = 90
closing_reason = "moved_away"
organisations = ["hafenlicht-hamburg", "weitblick-niedersachsen"]
label = {{ de = "Hamburg – Rotterdam", en = "Hamburg – Rotterdam" }}

[[federation.agreements.send]]
purpose = "consultation"
legal_basis = "consent_gdpr"
partner_legal_basis = "Art. 6 lid 1 sub a AVG"

[[federation.agreements.send]]
purpose = "handover"
categories = ["identity", "case_coordination", "counselling"]
legal_basis = "consent_gdpr"
partner_legal_basis = "Art. 6 lid 1 sub a AVG"
receiving_sector = "counselling_ngo"

[[federation.agreements.receive]]
purpose = "handover"
categories = ["identity", "case_coordination"]
legal_basis = "consent_gdpr"
partner_legal_basis = "Art. 6 lid 1 sub a AVG"
receiving_sector = "counselling_ngo"

[[federation.agreements.receive]]
purpose = "match"
legal_basis = "consent_gdpr"
partner_legal_basis = "Art. 6 lid 1 sub a AVG"
"""
WHERE = 'germany.toml: [[federation.agreements]] 1 ("hamburg-rotterdam")'


def germany_with(tmp_path: Path, federation: str = FEDERATION, replace=None) -> Path:
    text = (GERMANY / "germany.toml").read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    (tmp_path / "germany-postcodes.csv").write_bytes(
        (GERMANY / "germany-postcodes.csv").read_bytes()
    )
    path = tmp_path / "germany.toml"
    path.write_text(text + "\n" + federation)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ModelInvalid) as caught:
        parse_model(str(path))
    return [str(error) for error in caught.value.errors]


def test_valid_agreement_parses(tmp_path):
    spec = parse_model(str(germany_with(tmp_path)))
    federation = spec.federation
    assert federation.installation == "de-hotline"
    assert federation.name["en"] == "Advice Centre on Radicalisation"
    [agreement] = federation.agreements
    assert agreement.partner == "nl-rotterdam"
    assert [term.purpose for term in agreement.send] == ["consultation", "handover"]
    assert agreement.receive[0].receiving_sector == "counselling_ngo"


def test_model_without_federation_has_none(germany_spec):
    assert germany_spec.federation is None


@pytest.mark.django_db
def test_agreement_loads_idempotently_and_is_retired_when_dropped(tmp_path, germany_spec):
    spec = parse_model(str(germany_with(tmp_path)))
    report = model_load(spec=spec)
    assert report.created["agreement"] == 1, report.lines()
    agreement = Agreement.objects.get(code="hamburg-rotterdam")
    assert agreement.active
    assert agreement.partner == "nl-rotterdam"
    assert agreement.partner_labels == {"en": "Casebridge Rotterdam", "nl": "Casebridge Rotterdam"}
    assert agreement.address == "https://casebridge.example.nl/"
    assert agreement.public_key == KEY
    assert str(agreement.valid_from) == "2026-01-01"
    assert str(agreement.valid_until) == "2028-12-31"
    assert agreement.copies_kept_days == 90
    assert agreement.closing_reason == "moved_away"
    assert agreement.labels["en"] == "Hamburg – Rotterdam"
    assert sorted(agreement.organisations.values_list("code", flat=True)) == [
        "hafenlicht-hamburg",
        "weitblick-niedersachsen",
    ]
    assert agreement.terms["send"][1] == {
        "purpose": "handover",
        "categories": ["identity", "case_coordination", "counselling"],
        "legal_basis": "consent_gdpr",
        "partner_legal_basis": "Art. 6 lid 1 sub a AVG",
        "receiving_sector": "counselling_ngo",
    }
    assert [t["purpose"] for t in agreement.terms["receive"]] == ["handover", "match"]
    assert CooperationModel.objects.get().settings["federation"] == {
        "installation": "de-hotline",
        "name": {"de": "Beratungsstelle Radikalisierung", "en": "Advice Centre on Radicalisation"},
    }

    again = model_load(spec=spec)
    assert not again.changed, again.lines()

    # A changed organisation list is a change (the M2M only).
    fewer = parse_model(
        str(
            germany_with(
                tmp_path,
                FEDERATION.replace(
                    '["hafenlicht-hamburg", "weitblick-niedersachsen"]', '["hafenlicht-hamburg"]'
                ),
            )
        )
    )
    changed = model_load(spec=fewer)
    assert changed.updated["agreement"] == 1, changed.lines()
    assert list(agreement.organisations.values_list("code", flat=True)) == ["hafenlicht-hamburg"]

    dropped = model_load(spec=germany_spec)
    assert dropped.retired["agreement"] == 1
    agreement.refresh_from_db()
    assert not agreement.active
    assert CooperationModel.objects.get().settings["federation"] is None
    assert Organisation.objects.filter(code="hafenlicht-hamburg", active=True).exists()


# Each case: (what is wrong, (old, new) in FEDERATION, the message expected at its start).
MISTAKES = [
    (
        "key of the wrong length",
        (f'public_key = "{KEY}"', 'public_key = "' + base64.b64encode(b"x" * 31).decode() + '"'),
        f"{WHERE}: key public_key: must be a raw Ed25519 public key of 32 bytes, not 31",
    ),
    (
        "key not base64",
        (f'public_key = "{KEY}"', 'public_key = "not base64!"'),
        f"{WHERE}: key public_key: must be base64 text",
    ),
    (
        "http to a host that is not loopback",
        ("https://casebridge.example.nl/", "http://casebridge.example.nl/"),
        f"{WHERE}: key address: must use https (http only for 127.0.0.1, localhost or ::1)",
    ),
    (
        "address without a scheme",
        ("https://casebridge.example.nl/", "casebridge.example.nl"),
        f"{WHERE}: key address: must be an https URL with a host",
    ),
    (
        "unknown category",
        ('categories = ["identity", "case_coordination"]', 'categories = ["identity", "diet"]'),
        f'{WHERE}: key receive.1.categories: information category "diet" is not known',
    ),
    (
        "unknown legal basis",
        (
            'purpose = "consultation"\nlegal_basis = "consent_gdpr"',
            'purpose = "consultation"\nlegal_basis = "whim"',
        ),
        f'{WHERE}: key send.1.legal_basis: legal basis "whim" is not known',
    ),
    (
        "unknown receiving sector",
        ('receiving_sector = "counselling_ngo"', 'receiving_sector = "astrology"'),
        f'{WHERE}: key send.2.receiving_sector: sector "astrology" is not known',
    ),
    (
        "unknown organisation",
        ('"weitblick-niedersachsen"]', '"nowhere-ev"]'),
        f'{WHERE}: key organisations: organisation "nowhere-ev" is not known',
    ),
    (
        "no organisation",
        ('["hafenlicht-hamburg", "weitblick-niedersachsen"]', "[]"),
        f"{WHERE}: key organisations: must not be empty",
    ),
    (
        "unknown closing reason",
        ('closing_reason = "moved_away"', 'closing_reason = "vanished"'),
        f'{WHERE}: key closing_reason: case closing reason "vanished" is not known',
    ),
    (
        "purpose twice in one direction",
        (
            'purpose = "match"',
            'purpose = "handover"\ncategories = ["identity"]\nreceiving_sector = "counselling_ngo"',
        ),
        f'{WHERE}: key receive.2.purpose: purpose "handover" already appears in receive.1',
    ),
    (
        "categories on a consultation",
        ('purpose = "consultation"\n', 'purpose = "consultation"\ncategories = ["identity"]\n'),
        f"{WHERE}: key send.1.categories: must be empty: a consultation carries no case content",
    ),
    (
        "categories on a match",
        ('purpose = "match"\n', 'purpose = "match"\ncategories = ["identity"]\n'),
        f"{WHERE}: key receive.2.categories: must be empty: a match carries no case content",
    ),
    (
        "handover without categories",
        ('categories = ["identity", "case_coordination"]\n', ""),
        f"{WHERE}: key receive.1.categories: a handover must name at least one category",
    ),
    (
        "handover without receiving sector",
        (
            'receiving_sector = "counselling_ngo"\n\n[[federation.agreements.receive]]',
            "\n[[federation.agreements.receive]]",
        ),
        f"{WHERE}: key send.2.receiving_sector: is required for a handover",
    ),
    (
        "unknown purpose",
        ('purpose = "match"', 'purpose = "gossip"'),
        f"{WHERE}: key receive.1.purpose: must be one of",
    ),
    (
        "valid_until before valid_from",
        ("valid_until = 2028-12-31", "valid_until = 2025-12-31"),
        f"{WHERE}: key valid_until: must not lie before valid_from",
    ),
    (
        "copies kept too long",
        ("copies_kept_days = 90", "copies_kept_days = 4000"),
        f"{WHERE}: key copies_kept_days: must be at most 3650",
    ),
    (
        "partner is this installation",
        ('partner = "nl-rotterdam"', 'partner = "de-hotline"'),
        f'{WHERE}: key partner: the partner must be another installation than "de-hotline"',
    ),
    (
        "malformed installation code",
        ('installation = "de-hotline"', 'installation = "DE Hotline"'),
        "germany.toml: [federation]: key installation: has a malformed value",
    ),
    (
        "installation name missing a model language",
        ('name = { de = "Beratungsstelle Radikalisierung", ', "name = { "),
        'germany.toml: [federation]: key name: has no text for language "de"',
    ),
    (
        "unknown key in an agreement",
        ("copies_kept_days = 90", "copies_kept_days = 90\ncopies = 3"),
        f"{WHERE}: key copies: is not a known key",
    ),
    (
        "agreement code twice",
        ("", FEDERATION.split("[[federation.agreements]]")[1].split("[[federation.agreements.")[0]),
        'germany.toml: [[federation.agreements]] 2 ("hamburg-rotterdam"): key code: '
        'code "hamburg-rotterdam" is already used by entry 1',
    ),
]


@pytest.mark.parametrize(("mistake", "change", "message"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_is_reported_precisely(tmp_path, mistake, change, message):
    old, new = change
    if old:
        assert old in FEDERATION, old
        federation = FEDERATION.replace(old, new, 1)
    else:  # append a second agreement with the same code
        federation = FEDERATION + "\n[[federation.agreements]]" + new
    errors = errors_of(germany_with(tmp_path, federation))
    assert any(error.startswith(message) for error in errors), errors


@pytest.mark.parametrize("host", ["127.0.0.1:8001", "localhost", "[::1]:8443"])
def test_plain_http_is_allowed_to_a_loopback_host(tmp_path, host):
    federation = FEDERATION.replace("https://casebridge.example.nl/", f"http://{host}/")
    spec = parse_model(str(germany_with(tmp_path, federation)))
    assert spec.federation.agreements[0].address == f"http://{host}/"


# The key rule: what this model keeps from a sector may not cross to that sector in either
# direction. Germany keeps counselling from the security sector by never_by_scope, and
# identity by the must_not_share rule de-default/counselling-barrier.
SEND_HANDOVER = 'categories = ["identity", "case_coordination", "counselling"]'
RECEIVE_HANDOVER = 'categories = ["identity", "case_coordination"]'


@pytest.mark.parametrize(
    ("direction", "categories", "category", "why"),
    [
        ("send", SEND_HANDOVER, "counselling", "never_by_scope"),
        ("send", SEND_HANDOVER, "identity", "de-default/counselling-barrier"),
        ("receive", RECEIVE_HANDOVER, "counselling", "never_by_scope"),
        ("receive", RECEIVE_HANDOVER, "identity", "de-default/counselling-barrier"),
    ],
)
def test_category_kept_from_the_receiving_sector_may_not_cross(
    tmp_path, direction, categories, category, why
):
    entry = FEDERATION.index(categories)
    sector = FEDERATION.index('receiving_sector = "counselling_ngo"', entry)
    federation = (
        FEDERATION[:entry]
        + f'categories = ["case_coordination", "{category}"]'
        + FEDERATION[entry + len(categories) : sector]
        + 'receiving_sector = "security"'
        + FEDERATION[sector + len('receiving_sector = "counselling_ngo"') :]
    )
    number = 2 if direction == "send" else 1
    errors = errors_of(germany_with(tmp_path, federation))
    assert (
        f"{WHERE}: key {direction}.{number}.categories: category {category} may not cross to "
        f"sector security: this model keeps it from that sector ({why})"
    ) in errors, errors


@pytest.mark.parametrize(
    ("recipient", "sector"),
    [('{ organisation_type = "prison" }', "justice"), ("{ all = true }", "counselling_ngo")],
)
def test_must_not_share_to_an_organisation_type_or_to_all_keeps_from_its_sector(
    tmp_path, recipient, sector
):
    barrier = 'recipient = { sector = "security" }\ncategories = ["health"]'
    federation = FEDERATION.replace(
        'categories = ["identity", "case_coordination"]\nlegal_basis = "consent_gdpr"\n'
        'partner_legal_basis = "Art. 6 lid 1 sub a AVG"\nreceiving_sector = "counselling_ngo"',
        'categories = ["health"]\nlegal_basis = "consent_gdpr"\n'
        f'partner_legal_basis = "Art. 6 lid 1 sub a AVG"\nreceiving_sector = "{sector}"',
    )
    assert federation != FEDERATION
    errors = errors_of(
        germany_with(
            tmp_path,
            federation,
            replace={barrier: f'recipient = {recipient}\ncategories = ["health"]'},
        )
    )
    assert (
        f"{WHERE}: key receive.1.categories: category health may not cross to sector {sector}: "
        "this model keeps it from that sector (de-default/health-barrier)"
    ) in errors, errors
