"""Validation of cooperation model files: every kind of mistake gets a precise message."""

from __future__ import annotations

import pytest
from django.utils import translation

from casebridge.cooperation_models.schema import parse_model
from tests.model_files import CATEGORIES, POSTCODES, VALID, errors_of, write_model


@pytest.fixture(autouse=True)
def english():
    """The messages below are checked verbatim in English; one test checks German."""
    with translation.override("en"):
        yield


def test_valid_model_parses(tmp_path):
    spec = parse_model(str(write_model(tmp_path, VALID)))
    assert spec.header.code == "mini"
    assert [row.postcode for row in spec.postcodes] == ["20095"]
    assert spec.organisation_regions == {"police-hh": "DE-HH"}


# Each case: (what is wrong, how to break the valid file, the message expected verbatim).
MISTAKES = [
    (
        "toml syntax",
        lambda t: t.replace('version = "1"', "version = "),
        "mini.toml:4: not valid TOML",
    ),
    (
        "unknown organisation region",
        lambda t: t.replace('city = "Hamburg"', 'city = "Hamburg"\nregion = "DE-XX"'),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key region: '
        'region "DE-XX" is not known',
    ),
    (
        "unknown key (typo)",
        lambda t: t.replace('governance = "state"', 'governance = "state"\ngovernence = "x"'),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key governence: is not a known key',
    ),
    (
        "missing required key",
        lambda t: t.replace('city = "Hamburg"\n', ""),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key city: is required',
    ),
    (
        "wrong type",
        lambda t: t.replace("capacity = 4", 'capacity = "four"'),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key coverage.0.capacity: '
        "must be a whole number",
    ),
    (
        "duplicate code",
        lambda t: (
            t.replace('code = "parents"', 'code = "parents"')
            + '\n[[caller_categories]]\ncode = "parents"\nlabel = { en = "P", de = "E" }\n'
        ),
        'mini.toml: [[caller_categories]] 2 ("parents"): key code: '
        'code "parents" is already used by entry 1',
    ),
    (
        "unknown sector reference",
        lambda t: t.replace('sector = "security"', 'sector = "securty"'),
        'mini.toml: [[organisation_types]] 1 ("police"): key sector: sector "securty" is not known',
    ),
    (
        "label missing a language",
        lambda t: t.replace(
            'label = { en = "Parents", de = "Eltern" }', 'label = { en = "Parents" }'
        ),
        'mini.toml: [[caller_categories]] 1 ("parents"): key label: has no text for language "de"',
    ),
    (
        "region hierarchy upside down",
        lambda t: t.replace('level = "state"', 'level = "country"'),
        'mini.toml: [[regions]] 2 ("DE-HH"): key parent: '
        "a region of level country must not have a parent",
    ),
    (
        "coordinates outside the globe",
        lambda t: t.replace("coordinates = [53.55, 10.0]", "coordinates = [153.55, 10.0]"),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key coordinates: '
        "coordinates 153.55, 10.0 are outside the globe",
    ),
    (
        "malformed organisation postcode",
        lambda t: t.replace('postcode = "20095"', 'postcode = "2009"'),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key postcode: '
        'postcode "2009" does not match postcode_pattern',
    ),
    (
        "unknown service in coverage",
        lambda t: t.replace('services = ["family_counselling"]', 'services = ["exit"]'),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key coverage.1.services: '
        'service "exit" is not known',
    ),
    (
        "value outside the allowed choices",
        lambda t: t.replace('governance = "state"', 'governance = "private"'),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key governance: '
        "must be one of 'state' or 'ngo'",
    ),
    (
        "unknown table",
        lambda t: t + '\n[[organisation]]\ncode = "x"\n',
        "mini.toml: [[organisation]]: is not a known table",
    ),
    (
        "missing required table",
        lambda t: t.replace("[[legal_bases]]", "[[services]]", 1).replace(
            'citation = "Art. 6(1)(a) GDPR"\nkind = "consent"\n', ""
        ),
        "mini.toml: [[legal_bases]]: is required but missing",
    ),
    (
        "invalid postcode pattern",
        lambda t: t.replace('"^[0-9]{5}$"', '"^[0-9{5}$"'),
        "mini.toml: [model]: key postcode_pattern: is not a valid regular expression",
    ),
    (
        "two central hotlines",
        lambda t: (
            t.replace('governance = "state"', 'governance = "state"\nhotline = true')
            + t[t.index("[[organisations]]") :]
            .replace('"police-hh"', '"police-hh2"')
            .replace('governance = "state"', 'governance = "state"\nhotline = true')
        ),
        "mini.toml: [[organisations]]: at most one organisation can be the central hotline",
    ),
    (
        "latitude and longitude swapped",
        lambda t: t.replace("coordinates = [53.55, 10.0]", "coordinates = [10.0, 53.55]"),
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key coordinates: coordinates lie',
    ),
    (
        "a region covered twice",
        lambda t: t + '\n[[organisations.coverage]]\nregions = ["DE-HH"]\n',
        'mini.toml: [[organisations]] 1 ("Polizei Hamburg"): key coverage.2.regions: '
        'region "DE-HH" appears in more than one coverage',
    ),
    (
        "text in a language the model does not list",
        lambda t: t.replace(
            'label = { en = "Parents", de = "Eltern" }',
            'label = { en = "Parents", de = "Eltern", fr = "Parents" }',
        ),
        'mini.toml: [[caller_categories]] 1 ("parents"): key label: '
        'has text for language "fr", which [model] does not list',
    ),
    (
        "code with capitals",
        lambda t: t.replace('code = "parents"', 'code = "Parents"'),
        'mini.toml: [[caller_categories]] 1 ("Parents"): key code: has a malformed value '
        "'Parents' (use lowercase letters, digits, _ and -)",
    ),
]


@pytest.mark.parametrize(("mistake", "breaker", "message"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_is_reported_precisely(tmp_path, mistake, breaker, message):
    broken = breaker(VALID)
    assert broken != VALID, "the breaker must change the file"
    errors = errors_of(write_model(tmp_path, broken))
    assert any(error.startswith(message) for error in errors), errors


def test_missing_base_information_category_is_reported(tmp_path):
    path = tmp_path / "mini.toml"
    (tmp_path / "mini-postcodes.csv").write_text(POSTCODES)
    path.write_text(VALID + "\n" + CATEGORIES.replace('code = "child_welfare"', 'code = "welfare"'))
    assert (
        'mini.toml: [[information_categories]]: must include "child_welfare" '
        "(every model has the base categories)"
    ) in errors_of(path)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("20095,DE-XX,53.5,10.0", 'mini-postcodes.csv:2: region "DE-XX" is not a known region'),
        ("2009,DE-HH,53.5,10.0", 'mini-postcodes.csv:2: postcode "2009" does not match'),
        ("20095,DE-HH,53.5", "mini-postcodes.csv:2: expected 4 columns, found 3"),
        ("20095,DE-HH,x,10.0", "mini-postcodes.csv:2: coordinates must be numbers"),
        ("20095,DE,53.5,10.0", 'mini-postcodes.csv:2: region "DE" lies in no federal state'),
        (
            "20095,DE-HH,53.5,10.0\n20095,DE-HH,53.5,10.0",
            'mini-postcodes.csv:3: postcode "20095" appears twice',
        ),
    ],
)
def test_postcode_file_mistakes_name_the_line(tmp_path, rows, message):
    path = write_model(tmp_path, VALID, "postcode,region,latitude,longitude\n" + rows + "\n")
    assert any(error.startswith(message) for error in errors_of(path))


def test_missing_postcode_file_is_reported(tmp_path):
    path = write_model(tmp_path, VALID)
    (tmp_path / "mini-postcodes.csv").unlink()
    assert errors_of(path)[0] == (
        'mini.toml: [model]: key postcode_file: postcode file "mini-postcodes.csv" '
        "not found next to the model file"
    )


def test_all_errors_are_reported_at_once(tmp_path):
    broken = VALID.replace('sector = "security"', 'sector = "x"').replace('city = "Hamburg"\n', "")
    assert len(errors_of(write_model(tmp_path, broken))) == 2


def test_missing_file_is_reported(tmp_path):
    assert errors_of(tmp_path / "nope.toml") == ["nope.toml: file not found"]


def test_messages_follow_the_language_of_the_operator(tmp_path):
    broken = VALID.replace('sector = "security"', 'sector = "securty"')
    with translation.override("de"):
        errors = errors_of(write_model(tmp_path, broken))
    assert errors[0].startswith('mini.toml: [[organisation_types]] 1 ("police"): ')
    assert "securty" in errors[0]
    assert "is not known" not in errors[0]


ROLES = """
[[case_roles]]
code = "lead"
lead = true
read = ["counselling", "case_coordination"]
write = ["counselling"]
label = { en = "Lead", de = "Leitung" }

[[case_roles]]
code = "liaison"
sectors = ["security"]
read = ["case_coordination"]
write = ["case_coordination"]
label = { en = "Liaison", de = "Verbindung" }
"""


def test_case_roles_validate(tmp_path):
    text = VALID.replace(
        'label = { en = "Security", de = "Sicherheit" }',
        'label = { en = "Security", de = "Sicherheit" }\nnever_by_scope = ["counselling"]',
    )
    spec = parse_model(str(write_model(tmp_path, text + ROLES)))
    assert [r.code for r in spec.entries("case_roles")] == ["lead", "liaison"]


LIAISON_READ = 'sectors = ["security"]\nread = ["case_coordination"]'
LIAISON_READS_COUNSELLING = 'sectors = ["security"]\nread = ["case_coordination", "counselling"]'


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (LIAISON_READ, LIAISON_READS_COUNSELLING),
            'mini.toml: [[case_roles]] 2 ("liaison"): key read: grants "counselling" by scope '
            'to sector "security", which receives it only by disclosure',
        ),
        (
            ('write = ["counselling"]', 'write = ["counselling", "justice"]'),
            'mini.toml: [[case_roles]] 1 ("lead"): key write: writes "justice" but cannot read it',
        ),
        (
            ('code = "liaison"\n', 'code = "liaison"\nlead = true\n'),
            "mini.toml: [[case_roles]]: exactly one case role must lead (lead = true)",
        ),
        (
            ('read = ["counselling", "case_coordination"]', 'read = ["counselling", "gossip"]'),
            'mini.toml: [[case_roles]] 1 ("lead"): key read: '
            'information category "gossip" is not known',
        ),
    ],
)
def test_case_role_mistakes(tmp_path, change, message):
    text = VALID.replace(
        'label = { en = "Security", de = "Sicherheit" }',
        'label = { en = "Security", de = "Sicherheit" }\nnever_by_scope = ["counselling"]',
    ) + ROLES.replace(*change)
    assert any(error.startswith(message) for error in errors_of(write_model(tmp_path, text))), (
        errors_of(write_model(tmp_path, text))
    )


def test_sector_two_factor_is_a_boolean(tmp_path):
    security = 'label = { en = "Security", de = "Sicherheit" }'
    spec = parse_model(
        str(write_model(tmp_path, VALID.replace(security, security + "\ntwo_factor = true")))
    )
    assert {s.code: s.two_factor for s in spec.entries("sectors")}["security"] is True
    errors = errors_of(
        write_model(tmp_path, VALID.replace(security, security + '\ntwo_factor = "yes"'))
    )
    assert any("two_factor" in error for error in errors), errors


def test_germany_asks_security_and_justice_for_a_second_factor(germany_spec):
    assert {s.code for s in germany_spec.entries("sectors") if s.two_factor} == {
        "security",
        "justice",
    }
