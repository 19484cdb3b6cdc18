from django.apps import AppConfig

from casebridge.facts import watch


class CooperationModelsConfig(AppConfig):
    name = "casebridge.cooperation_models"

    def ready(self):
        # seats name information categories and roles by these terms (casebridge.facts)
        watch(self.get_model("Term"))
