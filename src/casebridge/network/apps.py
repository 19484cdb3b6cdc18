from django.apps import AppConfig

from casebridge.facts import watch


class NetworkConfig(AppConfig):
    name = "casebridge.network"

    def ready(self):
        # a user's second factor follows the sector of their organisations, and seats
        # leave out what a sector never receives by scope (casebridge.facts)
        watch(
            self.get_model("Organisation"),
            self.get_model("OrganisationType"),
            self.get_model("Sector"),
        )
