"""Tokens made before API_TOKEN_MAX_DAYS existed could live for ever: give each one
without an expiry the longest lifetime, counted from now."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def cap(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    latest = timezone.now() + timedelta(days=settings.API_TOKEN_MAX_DAYS)
    ApiToken.objects.filter(expires_at__isnull=True, revoked_at__isnull=True).update(
        expires_at=latest
    )
    ApiToken.objects.filter(expires_at__gt=latest).update(expires_at=latest)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_token_origin")]

    operations = [migrations.RunPython(cap, migrations.RunPython.noop)]
