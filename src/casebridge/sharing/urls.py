from django.urls import path

from casebridge.sharing import views

app_name = "sharing"
urlpatterns = [
    path("tasks/", views.tasks, name="tasks"),
    path("register/", views.register, name="register"),
    path("emergency/", views.emergency, name="emergency"),
    path("emergency/<int:access_id>/end/", views.emergency_end, name="emergency_end"),
    path("emergency/reviews/", views.emergency_reviews, name="emergency_reviews"),
    path("emergency/<int:access_id>/review/", views.emergency_review, name="emergency_review"),
    path("cases/<int:case_id>/simulate/", views.simulate, name="simulate"),
    path("cases/<int:case_id>/events/", views.event_record, name="event_record"),
    path("cases/<int:case_id>/consents/", views.consent_add, name="consent_add"),
    path(
        "cases/<int:case_id>/consents/<int:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    path(
        "cases/<int:case_id>/obligations/<int:obligation_id>/cancel/",
        views.obligation_cancel,
        name="obligation_cancel",
    ),
    path("cases/<int:case_id>/disclose/", views.disclose, name="disclose"),
    path("cases/<int:case_id>/requests/", views.request_add, name="request_add"),
    path(
        "cases/<int:case_id>/requests/<int:request_id>/refuse/",
        views.request_refuse,
        name="request_refuse",
    ),
    path(
        "cases/<int:case_id>/requests/<int:request_id>/withdraw/",
        views.request_withdraw,
        name="request_withdraw",
    ),
    path(
        "disclosures/<int:disclosure_id>/decide/", views.disclosure_decide, name="disclosure_decide"
    ),
    path("disclosures/<int:disclosure_id>/", views.disclosure_review, name="disclosure_review"),
    path(
        "contacts/<int:contact_id>/events/",
        views.contact_event_record,
        name="contact_event_record",
    ),
    path(
        "hotline-disclosures/<int:disclosure_id>/",
        views.contact_disclosure,
        name="contact_disclosure",
    ),
    path(
        "hotline-disclosures/<int:disclosure_id>/decide/",
        views.contact_disclosure_decide,
        name="contact_disclosure_decide",
    ),
    path(
        "hotline-disclosures/<int:disclosure_id>/cancel/",
        views.contact_disclosure_cancel,
        name="contact_disclosure_cancel",
    ),
    path(
        "hotline-disclosures/<int:disclosure_id>/receive/",
        views.contact_disclosure_receive,
        name="contact_disclosure_receive",
    ),
    path("from-the-hotline/", views.hotline_reports, name="hotline_reports"),
]
