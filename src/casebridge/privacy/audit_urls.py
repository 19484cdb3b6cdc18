"""The data protection officer's view of the audit log, under /audit/ (URL names
``audit:…`` as before the page moved from the audit app to privacy)."""

from django.urls import path

from casebridge.privacy import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_log, name="log"),
]
