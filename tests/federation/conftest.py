import pytest

from casebridge.federation import services
from tests.builders import org
from tests.federation.partner import install


@pytest.fixture
def partner(personas, settings, tmp_path, monkeypatch):
    """This installation with an agreement with a fake partner that answers in process."""
    fake = install(settings, tmp_path, [org(personas.partner)])
    monkeypatch.setattr(services, "_post", fake.post)
    return fake
