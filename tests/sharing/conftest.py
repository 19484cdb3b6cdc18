# The multi-agency case of tests/cases serves the SOP tests too.
from tests.cases.conftest import world  # noqa: F401
