from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "casebridge.procedures"
    label = "procedures"
    verbose_name = "Procedures as agreements"
