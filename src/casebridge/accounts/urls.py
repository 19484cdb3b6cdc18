from django.contrib.auth import views as auth_views
from django.urls import path

from casebridge.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-factor/", views.two_factor_enrol, name="two_factor_enrol"),
    path("two-factor/backup-codes/", views.two_factor_backup_codes, name="two_factor_backup_codes"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("confirm/", views.reauth, name="reauth"),
    path("confirm/sso/", views.sso_reauth_start, name="sso_reauth"),
    path("sso/<slug:organisation>/", views.sso_start, name="sso_start"),
    path("sso/<slug:organisation>/callback/", views.sso_callback, name="sso_callback"),
    path("password/", views.password_change, name="password_change"),
    path("profile/", views.profile, name="profile"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("manage/users/", views.admin_user_list, name="admin_users"),
    path("manage/users/new/", views.admin_user_create, name="admin_user_new"),
    path("manage/users/<int:user_id>/", views.admin_user_detail, name="admin_user"),
    path(
        "manage/users/<int:user_id>/active/",
        views.admin_user_set_active,
        name="admin_user_set_active",
    ),
    path(
        "manage/users/<int:user_id>/two-factor/reset/",
        views.admin_two_factor_reset,
        name="admin_two_factor_reset",
    ),
    path("manage/users/<int:user_id>/unlock/", views.admin_user_unlock, name="admin_user_unlock"),
    path(
        "manage/memberships/<int:membership_id>/end/",
        views.admin_membership_end,
        name="admin_membership_end",
    ),
]
