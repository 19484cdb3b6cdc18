from django.urls import path

from casebridge.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_open, name="open"),
    path("coordination/", views.coordination, name="coordination"),
    path("transfers/", views.transfer_inbox, name="transfers"),
    path("transfers/<int:transfer_id>/", views.transfer_detail, name="transfer"),
    path("transfers/<int:transfer_id>/accept/", views.transfer_accept, name="transfer_accept"),
    path("transfers/<int:transfer_id>/decline/", views.transfer_decline, name="transfer_decline"),
    path(
        "transfers/<int:transfer_id>/withdraw/", views.transfer_withdraw, name="transfer_withdraw"
    ),
    path("<int:case_id>/", views.case_detail, name="case"),
    path("<int:case_id>/export.csv", views.case_export, name="export"),
    path("<int:case_id>/access-history/", views.access_history, name="access_history"),
    path("<int:case_id>/entries/", views.entry_add, name="entry_add"),
    path("<int:case_id>/goals/", views.goal_add, name="goal_add"),
    path("<int:case_id>/related-people/", views.related_person_add, name="related_person_add"),
    path("<int:case_id>/goals/<int:goal_id>/status/", views.goal_status, name="goal_status"),
    path("<int:case_id>/participants/", views.participant_add, name="participant_add"),
    path(
        "<int:case_id>/participants/members/", views.participant_members, name="participant_members"
    ),
    path(
        "<int:case_id>/participants/<int:participant_id>/scope/",
        views.participant_scope,
        name="participant_scope",
    ),
    path(
        "<int:case_id>/participants/<int:participant_id>/end/",
        views.participant_end,
        name="participant_end",
    ),
    path(
        "<int:case_id>/participants/<int:participant_id>/handover/",
        views.participant_handover,
        name="participant_handover",
    ),
    path("<int:case_id>/phase/", views.case_phase, name="phase"),
    path("<int:case_id>/warnings/", views.warning_add, name="warning_add"),
    path(
        "<int:case_id>/warnings/<int:warning_id>/review/",
        views.warning_review,
        name="warning_review",
    ),
    path("<int:case_id>/warnings/<int:warning_id>/end/", views.warning_end, name="warning_end"),
    path("<int:case_id>/close/", views.case_close, name="close"),
    path("<int:case_id>/transfer/", views.transfer_propose, name="transfer_propose"),
    path("<int:case_id>/conferences/", views.conference_add, name="conference_add"),
    path(
        "<int:case_id>/conferences/<int:conference_id>/items/",
        views.conference_item_add,
        name="conference_item_add",
    ),
    path("entries/<int:entry_id>/document/", views.entry_document, name="document"),
    path("<int:case_id>/invitations/", views.invitation_add, name="invitation_add"),
    path(
        "<int:case_id>/invitations/<int:invitation_id>/end/",
        views.invitation_end,
        name="invitation_end",
    ),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
