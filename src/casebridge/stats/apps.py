from django.apps import AppConfig
from django.db.backends.signals import connection_created


class StatsConfig(AppConfig):
    name = "casebridge.stats"
    label = "stats"

    def ready(self):
        from casebridge.stats import aggregates, outcome_figures  # noqa: PLC0415 (app loading: models)
        from casebridge.stats.functions import register_sqlite_functions  # noqa: PLC0415 (app loading)

        connection_created.connect(register_sqlite_functions, dispatch_uid="casebridge.stats")
        aggregates.connect()
        outcome_figures.connect()
