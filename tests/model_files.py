"""A small valid cooperation model file and the helpers that write and check variants of it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from casebridge.cooperation_models.schema import (
    BASE_INFORMATION_CATEGORIES,
    ModelInvalid,
    parse_model,
)

CATEGORIES = "\n".join(
    f'[[information_categories]]\ncode = "{code}"\nlabel = {{ en = "{code}", de = "{code}" }}\n'
    for code in BASE_INFORMATION_CATEGORIES
)

VALID = textwrap.dedent(
    """
    [model]
    code = "mini"
    version = "1"
    country = "DE"
    name = { en = "Mini", de = "Mini" }
    languages = ["de", "en"]
    postcode_pattern = "^[0-9]{5}$"
    postcode_file = "mini-postcodes.csv"

    [[sectors]]
    code = "security"
    label = { en = "Security", de = "Sicherheit" }

    [[organisation_types]]
    code = "police"
    sector = "security"
    label = { en = "Police", de = "Polizei" }

    [[regions]]
    code = "DE"
    level = "country"
    name = { en = "Germany", de = "Deutschland" }

    [[regions]]
    code = "DE-HH"
    level = "state"
    parent = "DE"
    name = { en = "Hamburg", de = "Hamburg" }

    [[caller_categories]]
    code = "parents"
    label = { en = "Parents", de = "Eltern" }

    [[contact_categories]]
    code = "general"
    label = { en = "General", de = "Allgemein" }

    [[legal_bases]]
    code = "consent"
    label = { en = "Consent", de = "Einwilligung" }
    citation = "Art. 6(1)(a) GDPR"
    kind = "consent"

    [[services]]
    code = "family_counselling"
    label = { en = "Family counselling", de = "Familienberatung" }

    [[languages]]
    code = "de"
    label = { en = "German", de = "Deutsch" }

    [[organisations]]
    code = "police-hh"
    name = "Polizei Hamburg"
    type = "police"
    governance = "state"
    postcode = "20095"
    city = "Hamburg"
    coordinates = [53.55, 10.0]

    [[organisations.coverage]]
    regions = ["DE-HH"]
    services = ["family_counselling"]
    languages = ["de"]
    capacity = 4
    """
)
POSTCODES = "postcode,region,latitude,longitude\n20095,DE-HH,53.5511,10.0007\n"


def write_model(tmp_path: Path, text: str, postcodes: str = POSTCODES) -> Path:
    (tmp_path / "mini-postcodes.csv").write_text(postcodes)
    path = tmp_path / "mini.toml"
    path.write_text(text + "\n" + CATEGORIES)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ModelInvalid) as caught:
        parse_model(str(path))
    return [str(error) for error in caught.value.errors]
