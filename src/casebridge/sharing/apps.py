from django.apps import AppConfig

from casebridge.facts import watch


class SharingConfig(AppConfig):
    name = "casebridge.sharing"

    def ready(self):
        # the SOP's part of the case page: cases lies below sharing and does not import it
        from casebridge.cases.selectors import (  # noqa: PLC0415 (app loading)
            EXPORT_ROW_SOURCES,
        )
        from casebridge.cases.views import (  # noqa: PLC0415 (app loading)
            CASE_PAGE_PARTS,
            register_section,
        )
        from casebridge.hotline.views import (  # noqa: PLC0415 (app loading)
            CONTACT_PAGE_PARTS,
        )
        from casebridge.sharing.selectors import (  # noqa: PLC0415 (app loading)
            disclosed_excerpt_rows,
        )
        from casebridge.sharing.views import (  # noqa: PLC0415 (app loading)
            PROCEDURE,
            case_page_part,
            contact_page_part,
        )

        if disclosed_excerpt_rows not in EXPORT_ROW_SOURCES:
            EXPORT_ROW_SOURCES.append(disclosed_excerpt_rows)
        if contact_page_part not in CONTACT_PAGE_PARTS:
            CONTACT_PAGE_PARTS.append(contact_page_part)
        if case_page_part not in CASE_PAGE_PARTS:
            CASE_PAGE_PARTS.append(case_page_part)
        register_section(PROCEDURE)
        # seats include disclosed entries and emergency accesses (casebridge.facts)
        watch(self.get_model("Disclosure"), self.get_model("EmergencyAccess"))
