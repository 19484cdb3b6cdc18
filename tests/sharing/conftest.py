import pytest

from casebridge.sharing import services

# The multi-agency case of tests/cases serves the SOP tests too.
from tests.cases.conftest import category, world  # noqa: F401


@pytest.fixture
def coordination_consent(personas, world):  # noqa: F811 (the fixture above)
    """The person's consent to share case coordination with the police liaison."""
    return services.consent_record(
        actor=personas.partner,
        case=world.case,
        given_by="person",
        purpose="p",
        categories=[category("case_coordination")],
        recipients=[world.police],
    )
