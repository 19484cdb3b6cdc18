from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "casebridge.federation"
    label = "federation"
    verbose_name = "Federation with partner installations"
