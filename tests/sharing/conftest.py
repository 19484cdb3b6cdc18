"""What the SOP tests add to the multi-agency case of tests/builders.py."""

import pytest

from casebridge.sharing import services
from tests.builders import category


@pytest.fixture
def coordination_consent(personas, world):
    """The person's consent to share case coordination with the police liaison."""
    return services.consent_record(
        actor=personas.partner,
        case=world.case,
        given_by="person",
        purpose="p",
        categories=[category("case_coordination")],
        recipients=[world.police],
    )
