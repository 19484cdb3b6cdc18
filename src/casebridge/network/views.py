"""Pages of the network directory and, for administrators, organisation management."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import (
    active_roles,
    can_administer,
    can_manage_contact_points,
)
from casebridge.forms import apply_validation_error
from casebridge.network import ical, selectors, services
from casebridge.network.forms import (
    ActionItemForm,
    AttendanceForm,
    ContactPointFilterForm,
    ContactPointForm,
    DecisionForm,
    DirectoryFilterForm,
    LessonForm,
    LessonSearchForm,
    MeetingEditForm,
    MeetingForm,
    OrganisationForm,
    OrganisationProposalForm,
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
    can_propose = bool(active_roles(request.user) & services.PROPOSING_ROLES)
    return render(request, template, {"form": form, "page": page, "can_propose": can_propose})


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


# --- meetings and action items (issue 8) -------------------------------------------------


def _month(raw: str):
    """The first day of the month "YYYY-MM" (or of this month when it is malformed)."""

    try:
        year, month = (int(part) for part in raw.split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        today = timezone.localdate()
        return today.replace(day=1)


@login_required
def meetings(request):
    """A month of the user's meetings, day by day."""

    if not active_roles(request.user):
        raise PermissionDenied
    first = _month(request.GET.get("month", "")[:7])
    following = (first + dt.timedelta(days=32)).replace(day=1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(following, dt.time.min, tzinfo=zone)
    days: dict = {}
    for meeting in selectors.meetings_between(request.user, start, end):
        days.setdefault(timezone.localtime(meeting.starts_at).date(), []).append(meeting)
    return render(
        request,
        "network/meetings.html",
        {
            "month": first,
            "days": sorted(days.items()),
            "previous": previous.strftime("%Y-%m"),
            "next": following.strftime("%Y-%m"),
        },
    )


@login_required
def meeting_create(request):
    if not active_roles(request.user):
        raise PermissionDenied
    form = MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The meeting was planned and the invitations sent."))
            return redirect("network:meeting", meeting_id=meeting.pk)
    return render(request, "network/meeting_form.html", {"form": form, "meeting": None})


@login_required
def meeting_edit(request, meeting_id: int):
    meeting = selectors.access_meeting(request.user, meeting_id)
    if not selectors.can_manage_meeting(request.user, meeting):
        raise PermissionDenied
    initial = {
        name: getattr(meeting, name) for name in services.MEETING_FIELDS if hasattr(meeting, name)
    }
    form = MeetingEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_update(actor=request.user, meeting=meeting, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The meeting was saved."))
            return redirect("network:meeting", meeting_id=meeting.pk)
    return render(request, "network/meeting_form.html", {"form": form, "meeting": meeting})


def _meeting_page(request, meeting, *, decision_form=None, action_form=None, status=200):
    manager = selectors.can_manage_meeting(request.user, meeting)
    mine = next((i for i in meeting.invitations.all() if i.user_id == request.user.pk), None)
    return render(
        request,
        "network/meeting_detail.html",
        {
            "meeting": meeting,
            "manager": manager,
            "my_invitation": mine,
            "decision_form": decision_form or (DecisionForm() if manager else None),
            "action_form": action_form or (ActionItemForm() if manager else None),
            "attendance_form": AttendanceForm(meeting=meeting) if manager else None,
        },
        status=status,
    )


@login_required
def meeting_detail(request, meeting_id: int):
    return _meeting_page(request, selectors.access_meeting(request.user, meeting_id))


def _meeting_action(request, meeting, perform):
    try:
        perform()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Saved."))
    return redirect("network:meeting", meeting_id=meeting.pk)


@login_required
@require_POST
def meeting_respond(request, meeting_id: int):
    meeting = selectors.access_meeting(request.user, meeting_id)
    response = request.POST.get("response", "")[:10]
    return _meeting_action(
        request,
        meeting,
        lambda: services.invitation_respond(actor=request.user, meeting=meeting, response=response),
    )


@login_required
@require_POST
def meeting_attendance(request, meeting_id: int):
    meeting = selectors.access_meeting(request.user, meeting_id)
    form = AttendanceForm(request.POST, meeting=meeting)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("network:meeting", meeting_id=meeting.pk)
    present = {int(pk) for pk in form.cleaned_data["present"]}
    return _meeting_action(
        request,
        meeting,
        lambda: services.attendance_record(actor=request.user, meeting=meeting, present=present),
    )


def _meeting_form(request, meeting, form, form_name: str, perform, success: str):
    """Validate a form of the meeting page and perform it; on errors show the page again
    with the form and its messages (422), nothing saved."""
    if form.is_valid():
        try:
            perform(**form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, success)
            return redirect("network:meeting", meeting_id=meeting.pk)
    return _meeting_page(request, meeting, status=422, **{form_name: form})


@login_required
@require_POST
def meeting_decision(request, meeting_id: int):
    meeting = selectors.access_meeting(request.user, meeting_id)
    return _meeting_form(
        request,
        meeting,
        DecisionForm(request.POST),
        "decision_form",
        lambda **data: services.decision_add(actor=request.user, meeting=meeting, **data),
        _("The decision was recorded."),
    )


@login_required
@require_POST
def meeting_action_item(request, meeting_id: int):
    meeting = selectors.access_meeting(request.user, meeting_id)
    return _meeting_form(
        request,
        meeting,
        ActionItemForm(request.POST),
        "action_form",
        lambda **data: services.action_item_add(actor=request.user, meeting=meeting, **data),
        _("The action was added to the owner's tasks."),
    )


@login_required
@require_POST
def action_item_done(request, item_id: int):
    item = selectors.access_action_item(request.user, item_id)
    try:
        services.action_item_done(actor=request.user, item=item)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The action is done."))
    target = request.POST.get("next", "")
    if target == "tasks":
        return redirect("sharing:tasks")
    return redirect("network:meeting", meeting_id=item.meeting_id)


def _ics_response(meetings_list, request, name: str):

    events = [
        ical.Event(
            uid=f"meeting-{m.pk}@{request.get_host().split(':')[0]}",
            starts_at=m.starts_at,
            ends_at=m.ends_at,
            summary=m.title,
            sequence=m.sequence,
            location=m.location,
            description=m.agenda,
            url=request.build_absolute_uri(reverse("network:meeting", args=[m.pk])),
            cancelled=m.status == m.Status.CANCELLED,
        )
        for m in meetings_list
    ]
    body = ical.calendar(events, name=name, stamp=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="meetings.ics"'
    return response


@login_required
def meeting_ics(request, meeting_id: int):
    meeting = selectors.access_meeting(request.user, meeting_id)
    return _ics_response([meeting], request, meeting.title)


@login_required
def meetings_ics(request):
    """Every meeting of the user from 30 days ago on, for a calendar program."""

    since = timezone.now() - dt.timedelta(days=30)
    meetings_list = list(selectors.meetings_for(request.user).filter(starts_at__gte=since))
    return _ics_response(meetings_list, request, _("casebridge meetings"))


# --- lessons learned (issue 8) -----------------------------------------------------------


@login_required
def lessons(request):
    """Lessons learned: filter by tag or outcome (GET links), search the text (POST)."""
    if not active_roles(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = LessonSearchForm(request.POST)
    else:
        # Only the tag and outcome links travel in the URL, never a free-text query.
        form = LessonSearchForm(
            {"tag": request.GET.get("tag", ""), "outcome": request.GET.get("outcome", "")}
        )
    found = selectors.lessons(request.user)
    if form.is_valid():
        data = form.cleaned_data
        found = selectors.lessons(
            request.user, query=data["q"], tag=data["tag"], outcome=data["outcome"]
        )
    page = Paginator(found, 20).get_page(request.GET.get("page"))
    template = "network/_lesson_rows.html" if request.htmx else "network/lessons.html"
    return render(request, template, {"form": form, "page": page, "tags": selectors.lesson_tags()})


@login_required
def lesson_create(request):
    if not active_roles(request.user):
        raise PermissionDenied
    form = LessonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lesson = services.lesson_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Thank you: the lesson is shared with the network."))
            return redirect("network:lesson", lesson_id=lesson.pk)
    return render(
        request, "network/lesson_form.html", {"form": form}, status=422 if form.errors else 200
    )


@login_required
def lesson_detail(request, lesson_id: int):
    return render(
        request,
        "network/lesson_detail.html",
        {
            "lesson": selectors.access_lesson(request.user, lesson_id),
            # a coordinator may turn "what we change" into a draft of a procedure (issue 19)
            "may_propose": Role.COORDINATOR in active_roles(request.user),
        },
    )


@login_required
def contact_point_gaps(request):
    """For coordinators: organisations without a contact point and points whose person left."""

    roles = active_roles(request.user)
    if Role.COORDINATOR not in roles and Role.ADMINISTRATOR not in roles:
        raise PermissionDenied
    form = ContactPointFilterForm(request.GET or None)
    code = form.cleaned_data["type"] if form.is_bound and form.is_valid() else ""
    return render(
        request,
        "network/contact_point_gaps.html",
        {"form": form, "gaps": selectors.contact_point_gaps(organisation_type=code)},
    )


# --- organisations proposed by case workers --------------------------------------------------


@login_required
def organisation_propose(request):
    """A case worker proposes an organisation the directory lacks; a coordinator confirms it."""
    form = OrganisationProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        try:
            services.organisation_propose(actor=request.user, reason=reason, **data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _("Proposed. A coordinator confirms it; then you can invite people from it."),
            )
            return redirect("network:organisations")
    return render(
        request,
        "network/organisation_propose.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


@login_required
def organisation_proposals(request):
    if Role.COORDINATOR not in active_roles(request.user):
        raise PermissionDenied
    return render(
        request,
        "network/organisation_proposals.html",
        {"proposals": selectors.organisation_proposals()},
    )


@login_required
@require_POST
def organisation_proposal_decide(request, organisation_id: int):
    organisation = get_object_or_404(selectors.organisation_proposals(), pk=organisation_id)
    confirm = request.POST.get("decision") == "confirm"
    services.organisation_proposal_decide(
        actor=request.user, organisation=organisation, confirm=confirm
    )
    messages.success(
        request, _("The organisation is in the directory.") if confirm else _("Refused.")
    )
    return redirect("network:organisation_proposals")
