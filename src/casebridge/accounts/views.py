"""Sign-in, the user's own profile and tokens, and user management for administrators."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casebridge.accounts import selectors, services
from casebridge.accounts.forms import (
    MembershipForm,
    PreferencesForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
)
from casebridge.accounts.models import Membership
from casebridge.accounts.permissions import can_administer
from casebridge.forms import apply_validation_error


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@login_required
def profile(request):
    preferences = PreferencesForm(
        request.POST if request.POST.get("form") == "preferences" else None,
        initial={"language": request.user.language, "time_zone": request.user.time_zone},
    )
    token_form = TokenForm(request.POST if request.POST.get("form") == "token" else None)
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
    return render(
        request,
        "accounts/profile.html",
        {
            "preferences": preferences,
            "token_form": token_form,
            "tokens": selectors.tokens_of(request.user),
            "memberships": selectors.memberships_of(request.user),
            "new_secret": new_secret,
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
        },
    )


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
