from django.apps import AppConfig

from casebridge.facts import watch


class CasesConfig(AppConfig):
    name = "casebridge.cases"

    def ready(self):
        # the case a referral opened, on the referral's page: the hotline lies below cases
        from casebridge.cases.views import referral_page_part  # noqa: PLC0415 (app loading)
        from casebridge.hotline.views import REFERRAL_PAGE_PARTS  # noqa: PLC0415 (app loading)

        if referral_page_part not in REFERRAL_PAGE_PARTS:
            REFERRAL_PAGE_PARTS.append(referral_page_part)
        # seats are derived from participants, their members and scopes (casebridge.facts)
        watch(self.get_model("Participant"))
