"""WSGI entry point for gunicorn: ``gunicorn casebridge.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casebridge.settings")
application = get_wsgi_application()
