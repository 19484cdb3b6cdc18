"""Settings for bench/audit.py's side-by-side run: casebridge plus django-auditlog.

django-auditlog is a benchmark dependency only (the ``bench`` extra), never part of the app;
bench/audit.py registers the one model it measures.
"""

from casebridge.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "auditlog"]  # noqa: F405
