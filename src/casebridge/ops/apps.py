from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "casebridge.ops"
    label = "ops"
