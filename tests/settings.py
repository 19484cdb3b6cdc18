"""Test settings: the production settings with a throwaway secret and a fast hasher."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
# A fixed test key ring (never used outside tests): current key "t2", older key "t1".
os.environ.setdefault(
    "CASEBRIDGE_KEYS",
    "t2:" + "A" * 43 + "=," + "t1:" + "B" * 43 + "=",
)
os.environ.setdefault("CASEBRIDGE_DATA_DIR", tempfile.mkdtemp(prefix="casebridge-test-"))
os.makedirs(os.path.join(os.environ["CASEBRIDGE_DATA_DIR"], "static"), exist_ok=True)

from casebridge.settings import *  # noqa: E402, F403

# Argon2 is the production hasher (tests/test_settings.py checks it); hashing in every
# persona fixture would make the suite slow for nothing.
# The test client speaks plain HTTP; tests of the production headers switch these on.
SECURE_SSL_REDIRECT = False
# Tests read the chain right after a request: the request seals (tests/audit/
# test_background_seal.py runs the sealer thread on its own).
AUDIT_SEAL_IN_BACKGROUND = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The unit suite runs on one database even with DATABASE_REPLICA_URL set: pytest-django
# lets a test query only "default", and a mirror of it is no standby (dbrouting.choose()
# would find it "not a standby" anyway). The routing is tested with fed answers
# (tests/stats/test_standby.py), a real standby in tests/robustness/test_standby.py.
DATABASES.pop("replica", None)  # noqa: F405
