from django.urls import path

from casebridge.network import views

app_name = "network"
urlpatterns = [
    path("organisations/", views.organisation_list, name="organisations"),
    path("organisations/<int:organisation_id>/", views.organisation_detail, name="organisation"),
    path(
        "organisations/<int:organisation_id>/contact-points/new/",
        views.contact_point_create,
        name="contact_point_create",
    ),
    path("contact-points/", views.contact_point_list, name="contact_points"),
    path("contact-points/<int:point_id>/end/", views.contact_point_end, name="contact_point_end"),
    path("manage/organisations/", views.admin_organisation_list, name="admin_organisations"),
    path("manage/organisations/new/", views.admin_organisation_edit, name="admin_organisation_new"),
    path(
        "manage/organisations/<int:organisation_id>/",
        views.admin_organisation_edit,
        name="admin_organisation_edit",
    ),
]
