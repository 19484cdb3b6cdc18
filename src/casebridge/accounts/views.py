"""Sign-in, the user's own profile and tokens, and user management for administrators."""

from __future__ import annotations

from urllib.parse import urlencode

import django_otp
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from joserfc.errors import JoseError

from casebridge.accounts import security, selectors, services, sso, stepup, two_factor
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
    security.SignedOut.IDLE: gettext_lazy(
        "You were signed out because you were inactive for a while. Sign in again."
    ),
    security.SignedOut.EXPIRED: gettext_lazy(
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
        context["sso_choices"] = selectors.sso_choices()
        return context


# -- Single sign-on (accounts.sso; docs/development.md, "Single sign-on") ---------------

SSO_REFUSALS = {
    sso.Reason.UNKNOWN_ORGANISATION: gettext_lazy(
        "This organisation does not sign in with its own identity provider here."
    ),
    sso.Reason.UNKNOWN_STATE: gettext_lazy(
        "This sign-in was not started here, was already used or took too long. "
        "Start again from the sign-in page."
    ),
    sso.Reason.PROVIDER_ERROR: gettext_lazy(
        "Your organisation's identity provider did not sign you in. Try again, or ask its "
        "administrators."
    ),
    sso.Reason.UNREACHABLE: gettext_lazy(
        "Your organisation's identity provider cannot be reached right now. Try again later."
    ),
    sso.Reason.INVALID_TOKEN: gettext_lazy(
        "The answer of your organisation's identity provider could not be verified, so "
        "nobody was signed in. Its administrators can find the refusal in the audit log."
    ),
    sso.Reason.NO_ROLE: gettext_lazy(
        "Your organisation's identity provider gives you no role in casebridge. Ask your "
        "organisation's administrators for one."
    ),
    sso.Reason.OTHER_ORGANISATION: gettext_lazy(
        "This identity provider may sign in members of its own organisation only."
    ),
    sso.Reason.ACCOUNT_DISABLED: gettext_lazy("Your account is disabled. Ask an administrator."),
    sso.Reason.USERNAME_TAKEN: gettext_lazy(
        "An account with your name already exists. Ask an administrator."
    ),
    sso.Reason.NOT_FRESH: gettext_lazy(
        "Your identity provider did not ask you to sign in again, so it could not confirm "
        "that it is you. Try again."
    ),
    sso.Reason.NO_SECOND_FACTOR: gettext_lazy(
        "Your identity provider did not confirm a second factor. Sign in there with your "
        "second factor and try again."
    ),
    sso.Reason.OTHER_PERSON: gettext_lazy(
        "Your identity provider confirmed another person than the one signed in here."
    ),
}
SSO_CODE_PENDING = "cb_sso_code_pending"
# How long after the provider's confirmation the code of the authenticator may follow.
SSO_CODE_SECONDS = 300


def _sso_refused(request, organisation_code: str, reason: str, *, user=None):
    """Nothing signed in; the refusal is audited (codes only) and explained."""
    services.sso_refused(organisation_code=organisation_code, reason=reason, user=user)
    return render(
        request,
        "accounts/sso_refused.html",
        {"message": SSO_REFUSALS[reason]},
        status=404 if reason == sso.Reason.UNKNOWN_ORGANISATION else 403,
    )


def _sso_redirect_uri(request, organisation_code: str) -> str:
    return request.build_absolute_uri(reverse("accounts:sso_callback", args=[organisation_code]))


def _sso_start(request, provider, *, purpose: str, next_url: str):
    try:
        return sso.authorize_redirect(
            request,
            provider,
            redirect_uri=_sso_redirect_uri(request, provider.organisation),
            purpose=purpose,
            next=next_url,
        )
    except sso.MetadataMismatch:
        return _sso_refused(request, provider.organisation, sso.Reason.PROVIDER_ERROR)
    except (requests.RequestException, ValueError):
        return _sso_refused(request, provider.organisation, sso.Reason.UNREACHABLE)


def sso_start(request, organisation: str):
    """Go to the organisation's identity provider to sign in."""
    provider = sso.provider_for(organisation)
    if provider is None:
        return _sso_refused(request, organisation, sso.Reason.UNKNOWN_ORGANISATION)
    next_url = security.safe_next(request, request.GET.get("next"))
    return _sso_start(request, provider, purpose=sso.Purpose.SIGN_IN, next_url=next_url)


@login_required
def sso_reauth_start(request):
    """Confirm it is you at the identity provider that signed the user in."""
    identity = selectors.external_identity_of(request.user)
    provider = identity and sso.provider_for(identity.organisation.code)
    if provider is None:
        return redirect("accounts:reauth")
    next_url = security.safe_next(request, request.GET.get("next"))
    return _sso_start(request, provider, purpose=sso.Purpose.REAUTH, next_url=next_url)


def sso_callback(request, organisation: str):
    """Where the provider sends the browser back: check everything, then sign in (or
    confirm it is you); any failure signs nobody in and says why."""
    provider = sso.provider_for(organisation)
    if provider is None:
        return _sso_refused(request, organisation, sso.Reason.UNKNOWN_ORGANISATION)
    flow = sso.take_flow(request, organisation)
    if flow is None:
        return _sso_refused(request, organisation, sso.Reason.UNKNOWN_STATE)
    try:
        claims = sso.finish(request, provider)
    except MismatchingStateError:
        return _sso_refused(request, organisation, sso.Reason.UNKNOWN_STATE)
    except OAuthError:
        return _sso_refused(request, organisation, sso.Reason.PROVIDER_ERROR)
    except sso.MetadataMismatch:
        return _sso_refused(request, organisation, sso.Reason.PROVIDER_ERROR)
    except requests.RequestException:
        return _sso_refused(request, organisation, sso.Reason.UNREACHABLE)
    except (AuthlibBaseError, JoseError, sso.MissingIdToken, KeyError, ValueError, TypeError):
        return _sso_refused(request, organisation, sso.Reason.INVALID_TOKEN)
    second_factor = provider.asserts_second_factor(claims)
    if flow["purpose"] == sso.Purpose.REAUTH:
        return _sso_reauthenticated(request, provider, flow, claims, second_factor)
    try:
        user = services.sso_sign_in(provider=provider, claims=claims, second_factor=second_factor)
    except sso.Refused as refusal:
        return _sso_refused(request, organisation, refusal.reason)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if second_factor:
        django_otp.login(request, services.sso_device(user=user, provider=provider))
    return redirect(security.safe_next(request, flow.get("next")))


def _sso_reauthenticated(request, provider, flow, claims, second_factor: bool):
    user = request.user
    identity = selectors.external_identity_of(user) if user.is_authenticated else None
    if (
        identity is None
        or identity.organisation.code != provider.organisation
        or identity.issuer != provider.issuer
        or identity.subject != claims.get("sub")
    ):
        return _sso_refused(
            request,
            provider.organisation,
            sso.Reason.OTHER_PERSON,
            user=user if user.is_authenticated else None,
        )
    if not sso.fresh_authentication(claims, flow["started"]):
        return _sso_refused(request, provider.organisation, sso.Reason.NOT_FRESH, user=user)
    next_url = security.safe_next(request, flow.get("next"))
    required, enrolled = two_factor.two_factor_state(user)
    if not second_factor and enrolled:
        # As with a password: the code of the authenticator app follows.
        request.session[SSO_CODE_PENDING] = timezone.now().timestamp()
        return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': next_url})}")
    if not second_factor and required:
        return _sso_refused(request, provider.organisation, sso.Reason.NO_SECOND_FACTOR, user=user)
    services.sso_reauthenticated(user=user, second_factor=second_factor)
    security.mark_reauthenticated(request.session)
    return redirect(next_url)


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
    """Confirm it is you (password, and a code with 2FA) before exports and disclosures.

    Who signs in through their organisation's identity provider confirms it there (and
    then gives the authenticator's code here when the provider asserted no second factor).
    """
    next_url = security.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    identity = selectors.external_identity_of(request.user)
    if identity is not None:
        return _reauth_sso(request, identity, next_url)
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


def _reauth_sso(request, identity, next_url: str):
    confirmed_at = request.session.get(SSO_CODE_PENDING)
    code_pending = (
        confirmed_at is not None and timezone.now().timestamp() - confirmed_at <= SSO_CODE_SECONDS
    )
    form = VerifyForm(request.POST or None) if code_pending else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            services.two_factor_verify(
                user=request.user, code=form.cleaned_data["code"], stage="reauth"
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            request.session.pop(SSO_CODE_PENDING, None)
            services.sso_reauthenticated(user=request.user, second_factor=True)
            security.mark_reauthenticated(request.session)
            return redirect(next_url)
    return render(
        request,
        "accounts/reauth_sso.html",
        {
            "form": form,
            "next": next_url,
            "reauth_minutes": settings.REAUTH_MINUTES,
            "organisation": identity.organisation,
            "start_url": f"{reverse('accounts:sso_reauth')}?{urlencode({'next': next_url})}",
        },
        status=422 if form is not None and form.errors else 200,
    )


@login_required
def password_change(request):
    """Choose a new password; an account an administrator created does this first."""
    if selectors.external_identity_of(request.user) is not None:
        return redirect("accounts:profile")  # the organisation's provider keeps it
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
            "external_identity": selectors.external_identity_of(request.user),
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
            "external_identity": selectors.external_identity_of(user),
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
