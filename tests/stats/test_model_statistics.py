"""The [statistics] table of the cooperation model: k, validated like the rest."""

from __future__ import annotations

import pytest

from casebridge.cooperation_models.schema import parse_model
from casebridge.stats import selectors
from tests.model_files import VALID, errors_of, write_model


def test_k_comes_from_the_statistics_table(tmp_path):
    spec = parse_model(str(write_model(tmp_path, VALID + "\n[statistics]\nk = 10\n")))
    assert spec.statistics_k == 10


def test_k_defaults_to_five_and_honours_the_older_model_key(tmp_path):
    assert parse_model(str(write_model(tmp_path, VALID))).statistics_k == 5
    older = VALID.replace(
        'languages = ["de", "en"]', 'languages = ["de", "en"]\nstatistics_threshold = 7'
    )
    assert parse_model(str(write_model(tmp_path, older))).statistics_k == 7


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[statistics]\nk = 1\n", "mini.toml: [statistics]: key k: must be at least 2"),
        ('[statistics]\nk = "five"\n', "mini.toml: [statistics]: key k: must be a whole number"),
        (
            "[statistics]\nthreshold = 5\n",
            "mini.toml: [statistics]: key threshold: is not a known key",
        ),
        (
            "[[statistics]]\nk = 5\n",
            "mini.toml: [statistics]: must be a table, written [statistics]",
        ),
    ],
)
def test_statistics_mistakes_name_the_table_and_key(tmp_path, table, message):
    assert message in errors_of(write_model(tmp_path, VALID + "\n" + table))


def test_a_contradicting_threshold_is_refused(tmp_path):
    text = VALID.replace(
        'languages = ["de", "en"]', 'languages = ["de", "en"]\nstatistics_threshold = 7'
    )
    errors = errors_of(write_model(tmp_path, text + "\n[statistics]\nk = 5\n"))
    assert any("[statistics]: key k: k = 5 contradicts" in error for error in errors)


@pytest.mark.django_db
def test_the_loaded_germany_model_gives_k(personas):
    assert parse_model("germany").statistics.k == 5
    assert selectors.threshold() == 5
