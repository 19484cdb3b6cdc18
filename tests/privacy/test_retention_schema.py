"""The [retention] table of a cooperation model: valid periods load, mistakes are named."""

from __future__ import annotations

import pytest

from casebridge.cooperation_models.schema import parse_model
from tests.model_files import VALID, errors_of, write_model

RETENTION = """
[retention]
anonymous_contact_text_months = 12
identified_contact_months = 6
closed_referral_months = 12
closed_case_years = 3
consent_years = 3
disclosure_years = 5
audit_event_years = 10

[retention.category_years]
counselling = 2
"""


def test_retention_table_parses(tmp_path):
    spec = parse_model(str(write_model(tmp_path, VALID + RETENTION)))
    assert spec.retention.closed_case_years == 3
    assert spec.retention.category_years == {"counselling": 2}


def test_a_model_without_retention_has_no_rules(tmp_path):
    assert parse_model(str(write_model(tmp_path, VALID))).retention is None


def test_germany_declares_every_base_category(germany_spec):
    assert set(germany_spec.retention.category_years) >= {"counselling", "security", "identity"}
    assert germany_spec.retention.audit_event_years == 10


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "closed_case_years = 3",
            "closed_case_years = 0",
            "mini.toml: [retention]: key closed_case_years: must be at least 1",
        ),
        (
            "audit_event_years = 10",
            'audit_event_years = "ten"',
            "mini.toml: [retention]: key audit_event_years: must be a whole number",
        ),
        (
            "disclosure_years = 5\n",
            "",
            "mini.toml: [retention]: key disclosure_years: is required",
        ),
        (
            "consent_years = 3",
            "consent_years = 3\nconsent_months = 2",
            "mini.toml: [retention]: key consent_months: is not a known key",
        ),
        (
            "counselling = 2",
            "gossip = 2",
            'mini.toml: [retention]: key category_years.gossip: information category "gossip" '
            "is not known",
        ),
        (
            "counselling = 2",
            "counselling = 99",
            "mini.toml: [retention]: key category_years.counselling: must be at most 50",
        ),
        (
            "anonymous_contact_text_months = 12",
            "anonymous_contact_text_months = 601",
            "mini.toml: [retention]: key anonymous_contact_text_months: must be at most 600",
        ),
    ],
)
def test_bad_retention_values_name_table_and_key(tmp_path, old, new, message):
    broken = (VALID + RETENTION).replace(old, new)
    assert broken != VALID + RETENTION
    assert message in errors_of(write_model(tmp_path, broken))


def test_retention_must_be_a_table(tmp_path):
    text = VALID.replace("[model]", 'retention = "forever"\n[model]', 1)
    assert "mini.toml: [retention]: must be a table, written [retention]" in errors_of(
        write_model(tmp_path, text)
    )
