"""Hotline pages: the live-call intake, contacts, follow-ups, and the partners' referral inbox."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casebridge.access.policy import (
    HOTLINE_ROLES,
    PARTNER_ROLES,
    Action,
    decide,
    organisations_with,
)
from casebridge.cooperation_models.models import CooperationModel
from casebridge.forms import apply_validation_error
from casebridge.hotline import routing, selectors, services
from casebridge.hotline.forms import (
    AppointmentForm,
    ContactForm,
    ContactSearchForm,
    DeclineForm,
    ReferralFields,
)
from casebridge.hotline.models import Contact, Referral
from casebridge.network.models import Region
from casebridge.network.selectors import PostcodeError


def _require_hotline_staff(user) -> None:
    if not organisations_with(user, HOTLINE_ROLES):
        raise PermissionDenied


def _target_days() -> int:
    model = CooperationModel.objects.first()
    return model.settings.get("first_contact_target_days", 5) if model else 5


def _referral_request(fields: ReferralFields) -> services.ReferralRequest | None:
    data = fields.cleaned_data
    if not data.get("partner"):
        return None
    return services.ReferralRequest(
        partner=data["partner"],
        mode=data["mode"],
        consent_note=data["consent_note"],
        message=data["message"],
        services=list(data["services"]),
    )


def _apply(forms_by_field, exc: ValidationError) -> None:
    """Put a service's errors on whichever form has the field."""
    contact_form, referral_form = forms_by_field
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, texts in errors.items():
        target = referral_form if name in referral_form.fields else contact_form
        target.add_error(name if name in target.fields else None, texts)


def _elapsed_seconds(form: ContactForm, now) -> int:
    """Seconds since the call started, for the timer (the browser's clock zone may differ)."""
    if not form.is_bound:
        return 0
    started = form.cleaned_data.get("started_at") if hasattr(form, "cleaned_data") else None
    return max(0, int((now - started).total_seconds())) if started else 0


@login_required
def intake(request):
    organisation = selectors.hotline_organisation_of(request.user)
    now = timezone.localtime()
    initial = {
        "channel": "phone",
        "started_at": now,
        "language": "de",
        "anonymous": True,
    }
    form = ContactForm(request.POST or None, initial=initial)
    referral_form = ReferralFields(request.POST or None, prefix="referral")
    if request.method == "POST" and form.is_valid() & referral_form.is_valid():
        form.resolve_earlier(request.user)
    if request.method == "POST" and form.is_valid() and referral_form.is_valid():
        try:
            contact = services.contact_create(
                actor=request.user,
                organisation=organisation,
                values=form.contact_values(),
                topics=list(form.cleaned_data["concern_topics"]),
                referral=_referral_request(referral_form),
            )
        except ValidationError as exc:
            _apply((form, referral_form), exc)
        else:
            messages.success(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    _("Contact saved:"),
                    reverse("hotline:contact", args=[contact.pk]),
                    contact.reference,
                ),
            )
            if selectors.found_danger(contact):
                # the first analysis found a danger: the procedure's next steps are there
                return redirect(reverse("hotline:contact", args=[contact.pk]) + "#protocol")
            return redirect("hotline:intake")
    suggestions = _suggestions_for(request.POST) if request.method == "POST" else {}
    return render(
        request,
        "hotline/intake.html",
        {
            **suggestions,
            "form": form,
            "referral_form": referral_form,
            "elapsed_seconds": _elapsed_seconds(form, now),
            **selectors.intake_panels(request.user),
            "today_date": timezone.localdate(),
        },
    )


def _suggestions_for(data) -> dict:
    """Suggestions for the postcode (or, without one, the state), services and language."""
    postcode = data.get("caller_postcode", "").strip()[:16]
    context = {
        "suggestions": None,
        "error": "",
        "region": None,
        "selected": data.get("referral-partner"),
    }
    options = {
        "services": data.getlist("referral-services"),
        "language": data.get("language", ""),
    }
    region_id = data.get("caller_region", "")
    if postcode:
        try:
            place, context["suggestions"] = routing.suggest_for_postcode(postcode, **options)
        except PostcodeError as exc:
            context["error"] = str(exc)
        else:
            context["region"] = place.region
    elif region_id.isdigit():
        region = Region.objects.filter(pk=int(region_id), active=True).first()
        if region is not None:
            context["region"] = region
            context["suggestions"] = routing.suggest(region=region, **options)
    # the partners responsible for the region stand out; the others fold away
    others = [s for s in context["suggestions"] or [] if not s.match_level]
    context["others"] = others
    context["selected_other"] = any(str(s.organisation_id) == context["selected"] for s in others)
    return context


@login_required
@require_POST
def earlier(request):
    """The caller's earlier contacts, by the name they gave (htmx, beside the intake; POST
    keeps the name out of URLs)."""
    _require_hotline_staff(request.user)
    anonymous = request.POST.get("anonymous") in ("on", "true", "1")
    name = "" if anonymous else request.POST.get("caller_name", "")[:200].strip()
    contacts = selectors.earlier_contacts_of_caller(request.user, name) if name else None
    return render(request, "hotline/_earlier.html", {"earlier_contacts": contacts})


@login_required
@require_POST
def suggest(request):
    """Routing suggestions for the intake (htmx); POST keeps the postcode out of URLs."""
    _require_hotline_staff(request.user)
    return render(request, "hotline/_suggestions.html", _suggestions_for(request.POST))


@login_required
def contact_search(request):
    _require_hotline_staff(request.user)
    form = ContactSearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        results = selectors.contact_list(
            request.user,
            query=data["q"],
            day_from=data["day_from"],
            day_to=data["day_to"],
            contact_category=data["contact_category"].code if data["contact_category"] else "",
            caller_category=data["caller_category"].code if data["caller_category"] else "",
            follow_up_open=data["follow_up_open"],
        )
    return render(request, "hotline/contact_search.html", {"form": form, "results": results})


def _contact_page(request, contact, referral_form: ReferralFields, status: int = 200):
    context = {
        "contact": contact,
        "identity": selectors.caller_identity(request.user, contact=contact),
        "earlier": selectors.earlier_contacts(request.user, contact),
        "first_analysis": selectors.first_analysis(contact),
        "referral_form": referral_form,
        "target_days": _target_days(),
        "part_templates": [],
    }
    for part in CONTACT_PAGE_PARTS:
        added = part(request, contact)
        context["part_templates"] += added.pop("part_templates", [])
        context.update(added)
    return render(request, "hotline/contact_detail.html", context, status=status)


# What apps above the hotline add to a contact's page — sharing: the dangers the first
# analysis found and the disclosures the hotline's procedure asks for. Each part is a
# callable (request, contact) -> template context, whose "part_templates" are included
# at the end of the page; registered in its app's ready().
CONTACT_PAGE_PARTS: list[Callable[[HttpRequest, Contact], dict]] = []


@login_required
def contact_detail(request, contact_id: int):
    contact = selectors.access_contact(request.user, contact_id)
    return _contact_page(request, contact, ReferralFields(prefix="referral", require_partner=True))


@login_required
def contact_edit(request, contact_id: int):
    contact = selectors.access_contact(request.user, contact_id, for_write=True)
    form = ContactForm(
        request.POST or None,
        instance=contact,
        initial={
            "earlier_reference": contact.earlier_contact.reference
            if contact.earlier_contact
            else ""
        },
    )
    if request.method == "POST" and form.is_valid():
        form.resolve_earlier(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            fresh = selectors.access_contact(request.user, contact_id, for_write=True)
            services.contact_update(
                actor=request.user,
                contact=fresh,
                values=form.contact_values(),
                topics=list(form.cleaned_data["concern_topics"]),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The contact was saved."))
            return redirect("hotline:contact", contact_id=contact_id)
    return render(request, "hotline/contact_edit.html", {"form": form, "contact": contact})


@login_required
@require_POST
def follow_up_done(request, contact_id: int):
    contact = selectors.access_contact(request.user, contact_id, for_write=True)
    try:
        services.follow_up_done(actor=request.user, contact=contact)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Follow-up done."))
    if request.POST.get("back") == "intake":
        return redirect("hotline:intake")
    return redirect("hotline:contact", contact_id=contact_id)


@login_required
@require_POST
def contact_refer(request, contact_id: int):
    """Refer an existing contact (after a decline: re-routing)."""
    contact = selectors.access_contact(request.user, contact_id, for_write=True)
    form = ReferralFields(request.POST, prefix="referral", require_partner=True)
    if form.is_valid():
        try:
            services.referral_create(
                actor=request.user, contact=contact, request=_referral_request(form)
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The referral was sent."))
            return redirect("hotline:contact", contact_id=contact_id)
    return _contact_page(request, contact, form, status=422)


def _referral_action(request, referral_id: int, perform):
    referral = selectors.access_referral(request.user, referral_id)
    try:
        with transaction.atomic():
            perform(referral)
    except PermissionError:
        raise PermissionDenied from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("hotline:referral", referral_id=referral_id)


@login_required
@require_POST
def referral_withdraw(request, referral_id: int):
    return _referral_action(
        request,
        referral_id,
        lambda r: services.referral_withdraw(
            actor=request.user, referral=r, reason=request.POST.get("reason", "")
        ),
    )


@login_required
def referral_inbox(request):
    if not organisations_with(request.user, PARTNER_ROLES):
        raise PermissionDenied
    status = request.GET.get("status", "sent")
    if status not in {"sent", "accepted", "declined", "withdrawn", ""}:
        status = "sent"
    page = selectors.referral_inbox_page(request.user, status=status, page=request.GET.get("page"))
    target = _target_days()
    rows = [(r, selectors.first_contact_overdue(r, target)) for r in page.object_list]
    return render(
        request,
        "hotline/referral_inbox.html",
        {"rows": rows, "page": page, "status": status, "target_days": target},
    )


@login_required
def referral_detail(request, referral_id: int):
    referral = selectors.access_referral(request.user, referral_id)
    context = {
        "referral": referral,
        "identity": selectors.caller_identity(request.user, referral=referral),
        "can_respond": bool(decide(request.user, Action.RESPOND, referral)),
        "can_change": bool(decide(request.user, Action.CHANGE, referral)),
        "decline_form": DeclineForm(),
        "appointment_form": AppointmentForm(),
        "overdue": selectors.first_contact_overdue(referral, _target_days()),
        "target_days": _target_days(),
    }
    for part in REFERRAL_PAGE_PARTS:
        context.update(part(request, referral))
    return render(request, "hotline/referral_detail.html", context)


# What apps above the hotline add to a referral's page — cases: the case the referral
# opened. Each part is a callable (request, referral) -> template context, registered in
# its app's ready(); the hotline imports none of them (docs/development.md, "Layers").
REFERRAL_PAGE_PARTS: list[Callable[[HttpRequest, Referral], dict]] = []


@login_required
@require_POST
def referral_accept(request, referral_id: int):
    return _referral_action(
        request,
        referral_id,
        lambda r: services.referral_accept(actor=request.user, referral=r),
    )


@login_required
@require_POST
def referral_decline(request, referral_id: int):
    form = DeclineForm(request.POST)
    reason = form.data.get("reason", "") if not form.is_valid() else form.cleaned_data["reason"]
    return _referral_action(
        request,
        referral_id,
        lambda r: services.referral_decline(actor=request.user, referral=r, reason=reason),
    )


@login_required
@require_POST
def referral_first_contact(request, referral_id: int):
    return _referral_action(
        request,
        referral_id,
        lambda r: services.referral_first_contact(actor=request.user, referral=r),
    )


@login_required
@require_POST
def referral_appointment(request, referral_id: int):
    form = AppointmentForm(request.POST)

    def perform(referral):
        if not form.is_valid():
            raise ValidationError({"on": [_("Enter the date of the first appointment.")]})
        services.referral_appointment(
            actor=request.user, referral=referral, on=form.cleaned_data["on"]
        )

    return _referral_action(request, referral_id, perform)
