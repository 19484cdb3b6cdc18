from django.urls import path

from casebridge.federation import inbox, views

app_name = "federation"

urlpatterns = [
    path("v1/messages", inbox.messages, name="inbox"),
    path("", views.overview, name="overview"),
    path("register/", views.register, name="register"),
    path("consult/", views.consult, name="consult"),
    path("handovers/<int:handover_id>/", views.handover, name="handover"),
    path("cases/<int:case_id>/", views.case_federation, name="case"),
]
