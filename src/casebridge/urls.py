from django.urls import include, path

from casebridge import views
from casebridge.api import api
from casebridge.observability import views as observability

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("health/live", observability.live, name="health_live"),
    path("health/ready", observability.ready, name="health_ready"),
    path("metrics", observability.scrape, name="metrics"),
    path("i18n/language/", views.set_language, name="set_language"),
    path("accounts/", include("casebridge.accounts.urls")),
    path("network/", include("casebridge.network.urls")),
    path("hotline/", include("casebridge.hotline.urls")),
    path("cases/", include("casebridge.cases.urls")),
    path("cases/", include("casebridge.outcomes.urls")),
    path("sop/protocols/", include("casebridge.procedures.urls")),
    path("sop/", include("casebridge.sharing.urls")),
    path("audit/", include("casebridge.privacy.audit_urls")),
    path("privacy/", include("casebridge.privacy.urls")),
    path("stats/", include("casebridge.stats.urls")),
    path("training/", include("casebridge.training.urls")),
    path("federation/", include("casebridge.federation.urls")),
    path("api/v1/", api.urls),
]

handler403 = "casebridge.views.forbidden"
handler500 = "casebridge.views.server_error"
