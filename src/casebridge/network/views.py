"""Pages of the network directory and, for administrators, organisation management."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casebridge.accounts.permissions import can_administer, can_manage_contact_points
from casebridge.forms import apply_validation_error
from casebridge.network import selectors, services
from casebridge.network.forms import (
    ContactPointFilterForm,
    ContactPointForm,
    DirectoryFilterForm,
    OrganisationForm,
)
from casebridge.network.models import ContactPoint, Organisation


def _administrator(request) -> None:
    if not can_administer(request.user):
        raise PermissionDenied


@login_required
def organisation_list(request):
    form = DirectoryFilterForm(request.GET or None)
    organisations = selectors.organisation_list()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        organisations = selectors.organisation_list(
            query=data["q"],
            sector=data["sector"],
            organisation_type=data["type"],
            region=form.selected_region(),
            service=data["service"],
            language=data["language"],
            governance=data["governance"],
        )
    page = Paginator(organisations, 50).get_page(request.GET.get("page"))
    template = (
        "network/_organisation_rows.html" if request.htmx else "network/organisation_list.html"
    )
    return render(request, template, {"form": form, "page": page})


@login_required
def organisation_detail(request, organisation_id: int):
    organisation = selectors.organisation_detail(organisation_id)
    return render(
        request,
        "network/organisation_detail.html",
        {
            "organisation": organisation,
            "can_manage_contact_points": can_manage_contact_points(request.user, organisation),
            "can_edit": can_administer(request.user),
        },
    )


@login_required
def contact_point_list(request):
    form = ContactPointFilterForm(request.GET or None)
    points = selectors.contact_point_list()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        points = selectors.contact_point_list(
            query=data["q"],
            organisation_type=data["type"],
            region=form.selected_region(),
            vacant=True if data["vacant"] else None,
        )
    page = Paginator(points, 50).get_page(request.GET.get("page"))
    template = "network/_contact_point_rows.html" if request.htmx else "network/contact_points.html"
    return render(request, template, {"form": form, "page": page})


@login_required
def contact_point_create(request, organisation_id: int):
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    if not can_manage_contact_points(request.user, organisation):
        raise PermissionDenied
    form = ContactPointForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_point_create(
                actor=request.user, organisation=organisation, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The contact point was saved."))
            return redirect("network:organisation", organisation_id=organisation.pk)
    return render(
        request, "network/contact_point_form.html", {"form": form, "organisation": organisation}
    )


@login_required
@require_POST
def contact_point_end(request, point_id: int):
    point = get_object_or_404(ContactPoint.objects.select_related("organisation"), pk=point_id)
    if not can_manage_contact_points(request.user, point.organisation):
        raise PermissionDenied
    try:
        services.contact_point_end(actor=request.user, point=point)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The contact point was ended."))
    return redirect("network:organisation", organisation_id=point.organisation_id)


@login_required
def admin_organisation_list(request):
    _administrator(request)
    organisations = selectors.organisation_list(
        query=request.GET.get("q", "")[:100], include_inactive=True
    )
    page = Paginator(organisations, 50).get_page(request.GET.get("page"))
    return render(request, "network/admin_organisations.html", {"page": page})


@login_required
def admin_organisation_edit(request, organisation_id: int | None = None):
    _administrator(request)
    organisation = get_object_or_404(Organisation, pk=organisation_id) if organisation_id else None
    form = OrganisationForm(request.POST or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            if organisation is None:
                organisation = services.organisation_create(actor=request.user, **form.cleaned_data)
            else:
                # The form already wrote the values onto the instance; compare with the database.
                fresh = Organisation.objects.get(pk=organisation.pk)
                services.organisation_update(
                    actor=request.user, organisation=fresh, **form.cleaned_data
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The organisation was saved."))
            return redirect("network:organisation", organisation_id=organisation.pk)
    return render(
        request,
        "network/admin_organisation_form.html",
        {"form": form, "organisation": organisation},
    )
