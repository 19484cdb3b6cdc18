"""Sign-in, the user's own profile and tokens, and user management for administrators."""

from __future__ import annotations

from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from casebridge.accounts import security, selectors, services, stepup, two_factor
from casebridge.accounts.forms import (
    CodeForm,
    LoginForm,
    MembershipForm,
    PasswordChangeForm,
    PreferencesForm,
    ReauthForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
    VerifyForm,
)
from casebridge.accounts.models import Membership
from casebridge.accounts.permissions import can_administer
from casebridge.forms import apply_validation_error

SIGNED_OUT_MESSAGES = {
    security.SignedOut.IDLE: _lazy(
        "You were signed out because you were inactive for a while. Sign in again."
    ),
    security.SignedOut.EXPIRED: _lazy(
        "You were signed out because your session reached its maximum length. Sign in again."
    ),
}
PENDING_ENROLMENT = "cb_totp_pending"
NEW_BACKUP_CODES = "cb_backup_codes"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["signed_out"] = SIGNED_OUT_MESSAGES.get(self.request.GET.get("reason", ""))
        return context


@login_required
def two_factor_enrol(request):
    """Set up an authenticator app: QR code and secret, confirmed with a code it shows."""
    _required, enrolled = two_factor.two_factor_state(request.user)
    next_url = security.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if enrolled:
        if not request.user.is_verified():
            return redirect(
                f"{reverse('accounts:two_factor_verify')}?{urlencode({'next': next_url})}"
            )
        messages.info(request, _("Two-factor authentication is already set up."))
        return redirect("accounts:profile")
    key_hex = request.session.get(PENDING_ENROLMENT)
    if not key_hex:
        key_hex = request.session[PENDING_ENROLMENT] = default_key()
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.two_factor_enrol(
                actor=request.user, key_hex=key_hex, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            del request.session[PENDING_ENROLMENT]
            django_otp.login(request, TOTPDevice.objects.get(user=request.user, confirmed=True))
            request.session[NEW_BACKUP_CODES] = codes
            return redirect(
                f"{reverse('accounts:two_factor_backup_codes')}?{urlencode({'next': next_url})}"
            )
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "next": next_url,
            "secret": two_factor.secret_base32(key_hex),
            "qr": two_factor.qr_data_uri(two_factor.otpauth_url(request.user, key_hex)),
        },
        status=422 if form.errors else 200,
    )


@login_required
def two_factor_backup_codes(request):
    """Show the new backup codes once; reloading the page does not show them again."""
    codes = request.session.pop(NEW_BACKUP_CODES, None)
    if not codes:
        return redirect("accounts:profile")
    next_url = security.safe_next(request, request.GET.get("next"))
    return render(
        request, "accounts/two_factor_backup_codes.html", {"codes": codes, "next": next_url}
    )


@login_required
def two_factor_verify(request):
    """The second step of signing in: a code from the authenticator or a backup code."""
    next_url = security.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if not two_factor.two_factor_pending(request.user):
        return redirect(next_url)
    if not two_factor.two_factor_state(request.user)[1]:
        return redirect(f"{reverse('accounts:two_factor_enrol')}?{urlencode({'next': next_url})}")
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            django_otp.login(request, device)
            return redirect(next_url)
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": next_url},
        status=422 if form.errors else 200,
    )


@login_required
def reauth(request):
    """Confirm it is you (password, and a code with 2FA) before exports and disclosures."""
    next_url = security.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    with_code = two_factor.two_factor_state(request.user)[1]
    form = ReauthForm(request.POST or None, with_code=with_code)
    if request.method == "POST" and form.is_valid():
        try:
            services.reauthenticate(
                user=request.user,
                password=form.cleaned_data["password"],
                code=form.cleaned_data.get("code", ""),
                address=request.META.get("REMOTE_ADDR"),
            )
        except ValidationError as exc:
            if services.login_locked(
                username=request.user.get_username(), address=request.META.get("REMOTE_ADDR")
            ):
                logout(request)
                return redirect("accounts:login")
            apply_validation_error(form, exc)
        else:
            security.mark_reauthenticated(request.session)
            return redirect(next_url)
    return render(
        request,
        "accounts/reauth.html",
        {"form": form, "next": next_url, "reauth_minutes": settings.REAUTH_MINUTES},
        status=422 if form.errors else 200,
    )


@login_required
def password_change(request):
    """Choose a new password; an account an administrator created does this first."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password was changed."))
            return redirect("home")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "required": request.user.must_change_password},
        status=422 if form.errors else 200,
    )


def _token_form_posted(request) -> bool:
    return request.method == "POST" and request.POST.get("form") == "token"


@login_required
@stepup.require_recent_auth("accounts.token.create", when=_token_form_posted)
def profile(request):
    """Preferences, roles, two-factor state and API tokens (new ones after re-auth)."""
    preferences = PreferencesForm(
        request.POST if request.POST.get("form") == "preferences" else None,
        initial={"language": request.user.language, "time_zone": request.user.time_zone},
    )
    token_form = TokenForm(request.POST if _token_form_posted(request) else None)
    new_secret = None
    if request.method == "POST":
        if preferences.is_bound and preferences.is_valid():
            services.user_update(actor=request.user, user=request.user, **preferences.cleaned_data)
            messages.success(request, _("Your preferences were saved."))
            return redirect("accounts:profile")
        if token_form.is_bound and token_form.is_valid():
            try:
                _token, new_secret = services.api_token_create(
                    actor=request.user, **token_form.cleaned_data
                )
            except ValidationError as exc:
                apply_validation_error(token_form, exc)
            else:
                token_form = TokenForm()
    required, enrolled = two_factor.two_factor_state(request.user)
    return render(
        request,
        "accounts/profile.html",
        {
            "preferences": preferences,
            "token_form": token_form,
            "tokens": selectors.tokens_of(request.user),
            "memberships": selectors.memberships_of(request.user),
            "new_secret": new_secret,
            "two_factor_required": required,
            "two_factor_enrolled": enrolled,
        },
    )


@login_required
@require_POST
def token_revoke(request, token_id: int):
    token = selectors.own_token(request.user, token_id)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("The token was revoked."))
    return redirect("accounts:profile")


def _administrator(request) -> None:
    if not can_administer(request.user):
        raise PermissionDenied


@login_required
def admin_user_list(request):
    _administrator(request)
    query = request.POST.get("q", "")[:100]
    users = selectors.user_list(query=query)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/admin_users.html", {"page": page, "query": query})


@login_required
def admin_user_create(request):
    _administrator(request)
    form = UserCreateForm(request.POST or None)
    membership_form = MembershipForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and membership_form.is_valid():
        try:
            with transaction.atomic():
                user = services.user_create(actor=request.user, **form.cleaned_data)
                services.membership_add(
                    actor=request.user, user=user, **membership_form.cleaned_data
                )
        except ValidationError as exc:
            target = membership_form if set(exc.message_dict) & {"role", "valid_until"} else form
            apply_validation_error(target, exc)
        else:
            messages.success(request, _("The user was created."))
            return redirect("accounts:admin_user", user_id=user.pk)
    return render(
        request,
        "accounts/admin_user_create.html",
        {"form": form, "membership_form": membership_form},
    )


@login_required
def admin_user_detail(request, user_id: int):
    _administrator(request)
    user = selectors.user_detail(user_id)
    action = request.POST.get("form")
    form = UserEditForm(
        request.POST if action == "details" else None,
        initial={name: getattr(user, name) for name in UserEditForm.base_fields},
    )
    membership_form = MembershipForm(request.POST if action == "membership" else None)
    if request.method == "POST":
        try:
            if action == "details" and form.is_valid():
                services.user_update(actor=request.user, user=user, **form.cleaned_data)
                messages.success(request, _("The user was saved."))
                return redirect("accounts:admin_user", user_id=user.pk)
            if action == "membership" and membership_form.is_valid():
                services.membership_add(
                    actor=request.user, user=user, **membership_form.cleaned_data
                )
                messages.success(request, _("The role was added."))
                return redirect("accounts:admin_user", user_id=user.pk)
        except ValidationError as exc:
            apply_validation_error(form if action == "details" else membership_form, exc)
    return render(
        request,
        "accounts/admin_user_detail.html",
        {
            "subject": user,
            "form": form,
            "membership_form": membership_form,
            "memberships": selectors.memberships_of(user),
            "two_factor": two_factor.two_factor_state(user),
            "lockout": selectors.active_lockout(user),
        },
    )


@login_required
@require_POST
def admin_two_factor_reset(request, user_id: int):
    _administrator(request)
    user = selectors.user_detail(user_id)
    services.two_factor_reset(actor=request.user, user=user)
    messages.success(
        request,
        _("Two-factor authentication was reset; the user sets it up again at the next sign-in."),
    )
    return redirect("accounts:admin_user", user_id=user.pk)


@login_required
@require_POST
def admin_user_unlock(request, user_id: int):
    _administrator(request)
    user = selectors.user_detail(user_id)
    services.login_unlock(actor=request.user, user=user)
    messages.success(request, _("The sign-in lock was lifted."))
    return redirect("accounts:admin_user", user_id=user.pk)


@login_required
@require_POST
def admin_user_set_active(request, user_id: int):
    _administrator(request)
    user = selectors.user_detail(user_id)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(actor=request.user, user=user, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("The account was enabled.")
            if active
            else _("The account was disabled; its sessions and tokens have ended."),
        )
    return redirect("accounts:admin_user", user_id=user.pk)


@login_required
@require_POST
def admin_membership_end(request, membership_id: int):
    _administrator(request)
    membership = get_object_or_404(Membership, pk=membership_id)
    try:
        services.membership_end(actor=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The role was ended."))
    return redirect("accounts:admin_user", user_id=membership.user_id)
