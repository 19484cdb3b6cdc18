from django.urls import path

from casebridge.network import views

app_name = "network"
urlpatterns = [
    path("organisations/", views.organisation_list, name="organisations"),
    path("organisations/<int:organisation_id>/", views.organisation_detail, name="organisation"),
    path("organisations/propose/", views.organisation_propose, name="organisation_propose"),
    path("organisations/proposals/", views.organisation_proposals, name="organisation_proposals"),
    path(
        "organisations/proposals/<int:organisation_id>/decide/",
        views.organisation_proposal_decide,
        name="organisation_proposal_decide",
    ),
    path(
        "organisations/<int:organisation_id>/contact-points/new/",
        views.contact_point_create,
        name="contact_point_create",
    ),
    path("contact-points/", views.contact_point_list, name="contact_points"),
    path("contact-points/gaps/", views.contact_point_gaps, name="contact_point_gaps"),
    path("contact-points/<int:point_id>/end/", views.contact_point_end, name="contact_point_end"),
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/new/", views.meeting_create, name="meeting_create"),
    path("meetings/calendar.ics", views.meetings_ics, name="meetings_ics"),
    path("meetings/<int:meeting_id>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:meeting_id>/edit/", views.meeting_edit, name="meeting_edit"),
    path("meetings/<int:meeting_id>/meeting.ics", views.meeting_ics, name="meeting_ics"),
    path("meetings/<int:meeting_id>/respond/", views.meeting_respond, name="meeting_respond"),
    path(
        "meetings/<int:meeting_id>/attendance/",
        views.meeting_attendance,
        name="meeting_attendance",
    ),
    path("meetings/<int:meeting_id>/decisions/", views.meeting_decision, name="meeting_decision"),
    path(
        "meetings/<int:meeting_id>/action-items/",
        views.meeting_action_item,
        name="meeting_action_item",
    ),
    path("action-items/<int:item_id>/done/", views.action_item_done, name="action_item_done"),
    path("lessons/", views.lessons, name="lessons"),
    path("lessons/new/", views.lesson_create, name="lesson_create"),
    path("lessons/<int:lesson_id>/", views.lesson_detail, name="lesson"),
    path("manage/organisations/", views.admin_organisation_list, name="admin_organisations"),
    path("manage/organisations/new/", views.admin_organisation_edit, name="admin_organisation_new"),
    path(
        "manage/organisations/<int:organisation_id>/",
        views.admin_organisation_edit,
        name="admin_organisation_edit",
    ),
]
