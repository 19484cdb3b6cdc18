from django.apps import AppConfig

from casebridge.facts import watch


class SharingConfig(AppConfig):
    name = "casebridge.sharing"

    def ready(self):
        # the SOP's part of the case page: cases lies below sharing and does not import it
        from casebridge.cases.views import CASE_PAGE_PARTS  # noqa: PLC0415 (app loading)
        from casebridge.sharing.views import case_page_part  # noqa: PLC0415 (app loading)

        if case_page_part not in CASE_PAGE_PARTS:
            CASE_PAGE_PARTS.append(case_page_part)
        # seats include disclosed entries and emergency accesses (casebridge.facts)
        watch(self.get_model("Disclosure"), self.get_model("EmergencyAccess"))
