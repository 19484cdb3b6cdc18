from django.urls import path

from casebridge.hotline import views

app_name = "hotline"
urlpatterns = [
    path("", views.intake, name="intake"),
    path("suggest/", views.suggest, name="suggest"),
    path("earlier/", views.earlier, name="earlier"),
    path("contacts/", views.contact_search, name="contacts"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_id>/follow-up-done/", views.follow_up_done, name="follow_up_done"),
    path("contacts/<int:contact_id>/refer/", views.contact_refer, name="contact_refer"),
    path("referrals/", views.referral_inbox, name="inbox"),
    path("referrals/<int:referral_id>/", views.referral_detail, name="referral"),
    path("referrals/<int:referral_id>/accept/", views.referral_accept, name="referral_accept"),
    path("referrals/<int:referral_id>/decline/", views.referral_decline, name="referral_decline"),
    path(
        "referrals/<int:referral_id>/first-contact/",
        views.referral_first_contact,
        name="referral_first_contact",
    ),
    path(
        "referrals/<int:referral_id>/appointment/",
        views.referral_appointment,
        name="referral_appointment",
    ),
    path(
        "referrals/<int:referral_id>/withdraw/", views.referral_withdraw, name="referral_withdraw"
    ),
]
