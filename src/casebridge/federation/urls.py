from django.urls import path

from casebridge.federation import inbox, views

app_name = "federation"

urlpatterns = [
    path("v1/messages", inbox.messages, name="inbox"),
    path("", views.overview, name="overview"),
    path("register/", views.register, name="register"),
    path("consult/", views.consult, name="consult"),
    path("handovers/<int:handover_id>/", views.handover, name="handover"),
    path("handovers/<int:handover_id>/accept/", views.accept, name="accept"),
    path("handovers/<int:handover_id>/decline/", views.decline, name="decline"),
    path("handovers/<int:handover_id>/withdraw/", views.withdraw, name="withdraw"),
    path("handovers/<int:handover_id>/disclose/", views.disclose, name="disclose"),
    path("cases/<int:case_id>/", views.case_federation, name="case"),
    path("cases/<int:case_id>/match/", views.case_match, name="match"),
    path("cases/<int:case_id>/handovers/", views.propose, name="propose"),
]
