# The hotline's contact factory serves the encryption tests too.
from tests.hotline.conftest import hotline_org, make_contact  # noqa: F401
