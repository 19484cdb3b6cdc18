from django.urls import path

from casebridge.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("cases/<int:case_id>/", views.case_history, name="case_history"),
]
