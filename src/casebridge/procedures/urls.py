from django.urls import path

from casebridge.procedures import views

app_name = "procedures"
urlpatterns = [
    path("", views.protocol_list, name="list"),
    path("compare/", views.protocol_diff, name="diff"),
    path("new/", views.draft_new, name="draft_new"),
    path("import/", views.draft_import, name="import"),
    path("<int:protocol_id>/", views.protocol_detail, name="detail"),
    path("<int:protocol_id>/edit/", views.draft_edit, name="edit"),
    path("<int:protocol_id>/rules/new/", views.rule_edit, name="rule_new"),
    path("<int:protocol_id>/rules/check/", views.rule_check, name="rule_check_new"),
    path("<int:protocol_id>/rules/<slug:code>/", views.rule_edit, name="rule_edit"),
    path("<int:protocol_id>/rules/<slug:code>/check/", views.rule_check, name="rule_check"),
    path("<int:protocol_id>/rules/<slug:code>/delete/", views.rule_delete, name="rule_delete"),
    path("<int:protocol_id>/signatories/", views.signatories, name="signatories"),
    path("<int:protocol_id>/comments/", views.comment, name="comment"),
    path("<int:protocol_id>/sign/", views.sign, name="sign"),
    path("<int:protocol_id>/activate/", views.activate, name="activate"),
    path("<int:protocol_id>/export.toml", views.export, name="export"),
    path("<int:protocol_id>/replay/", views.replay, name="replay"),
]
