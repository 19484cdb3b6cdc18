"""Case pages: my cases, the case (filtered by scope), participants, entries, conferences."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import DateField
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casebridge.access.policy import Action, organisations_with
from casebridge.accounts.models import Role
from casebridge.accounts.stepup import require_recent_auth
from casebridge.cases import selectors, services
from casebridge.cases.forms import (
    AcceptInvitationForm,
    CaseOpenForm,
    CloseForm,
    ConferenceForm,
    ConferenceItemForm,
    EntryForm,
    GoalForm,
    HandoverForm,
    InvitationForm,
    ParticipantForm,
    PhaseForm,
    RelatedPersonForm,
    SafetyWarningForm,
    ScopeForm,
    TransferAcceptForm,
    TransferDeclineForm,
    TransferForm,
    invitation_link_base,
    staff_of,
)
from casebridge.cases.models import Case
from casebridge.cooperation_models.models import Term
from casebridge.forms import apply_validation_error
from casebridge.hotline import selectors as hotline_selectors
from casebridge.refusals import hide_denials


@login_required
def case_list(request):
    status = request.GET.get("status", "open")
    if status not in {"open", "closed", ""}:
        status = "open"
    results = None
    query = ""
    if request.method == "POST":  # search words travel in the body, never the URL
        query = request.POST.get("q", "")[:100].strip()
        results = selectors.search_entries(request.user, query) if query else []
    return render(
        request,
        "cases/case_list.html",
        {
            "page": selectors.my_cases_page(
                request.user, status=status, page=request.GET.get("page")
            ),
            "status": status,
            "results": results,
            "query": query,
            "can_open": selectors.owner_for(request.user) is not None,
            "is_coordinator": bool(organisations_with(request.user, frozenset({Role.COORDINATOR}))),
        },
    )


@login_required
def case_open(request):
    owner = selectors.owner_for(request.user)
    if owner is None:
        raise PermissionDenied
    referral = None
    referral_id = request.POST.get("referral") or request.GET.get("referral")
    if referral_id and str(referral_id).isdigit():
        referral = hotline_selectors.access_referral(request.user, int(referral_id))
    form = CaseOpenForm(
        request.POST or None, initial={"referral": referral.pk if referral else None}
    )
    duplicates = 0
    if request.method == "POST" and form.is_valid():
        identity = form.identity()
        duplicates = selectors.possible_duplicates(
            owner,
            services.identity_index(
                identity["first_name"], identity["last_name"], identity["date_of_birth"]
            ),
        )
    if (
        request.method == "POST"
        and form.is_valid()
        and (not duplicates or request.POST.get("confirm"))
    ):
        try:
            case = services.case_open(
                actor=request.user,
                owner=owner,
                pseudonym=form.cleaned_data["pseudonym"],
                referral=referral,
                identity=form.identity(),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect("cases:case", case_id=case.pk)
    return render(
        request,
        "cases/case_open.html",
        {"form": form, "owner": owner, "referral": referral, "duplicates": duplicates},
    )


@dataclass(frozen=True)
class CaseSection:
    """One section of the case page: its own address (``?section=key``), template and
    context, and the forms whose errors it shows again. Only the section asked for is
    read and rendered; the others are one link (or one htmx request) away."""

    key: str
    label: str  # lazy
    template: str
    context: Callable[[HttpRequest, Case, selectors.CaseHeader, dict], dict]
    forms: tuple[str, ...] = ()
    position: int = 50
    shown: Callable[[selectors.CaseHeader], bool] = lambda header: True


# The sections of the case page by key. cases registers its own below; apps above cases
# add theirs in their ready() (sharing: the procedure) — cases imports none of them.
CASE_PAGE_SECTIONS: dict[str, CaseSection] = {}
DEFAULT_SECTION = "entries"

# What apps above cases add to the header of every section — sharing: the emergency
# access banner and what was disclosed to the reader's organisation. Each part is a
# callable (request, case, section key) -> template context, registered in its app's
# ready() (docs/development.md, "Layers").
CASE_PAGE_PARTS: list[Callable[[HttpRequest, Case, str], dict]] = []


def register_section(section: CaseSection) -> None:
    CASE_PAGE_SECTIONS[section.key] = section


def section_of_form(form_name: str) -> str:
    return next(
        (key for key, section in CASE_PAGE_SECTIONS.items() if form_name in section.forms),
        DEFAULT_SECTION,
    )


def case_url(case_id: int, section: str = DEFAULT_SECTION) -> str:
    url = reverse("cases:case", args=[case_id])
    return url if section == DEFAULT_SECTION else f"{url}?section={section}"


def render_case_page(request, case, *, status: int = 200, section: str = "", **forms):
    header = selectors.case_header(request.user, case)
    swapped = bool(request.htmx and request.htmx.target == "case-body")
    # "new since your last visit": a page opened moves the visit on, a section swapped in
    # (or a form shown again) keeps the mark of the visit it belongs to
    header.since = services.case_visit(
        actor=request.user, case=case, opened=request.method == "GET" and not swapped
    )
    sections = sorted(
        (s for s in CASE_PAGE_SECTIONS.values() if s.shown(header)), key=lambda s: s.position
    )
    key = section or request.GET.get("section", "")
    current = (
        next((s for s in sections if s.key == key), None) or CASE_PAGE_SECTIONS[DEFAULT_SECTION]
    )
    context = {
        "case": case,
        "header": header,
        "sections": sections,
        "section": current,
        "form_errors": [
            (form.fields[name].label if name in form.fields else "", errors)
            for form in forms.values()
            for name, errors in form.errors.items()
        ],
        **current.context(request, case, header, forms),
    }
    for part in CASE_PAGE_PARTS:
        context.update(part(request, case, current.key))
    if swapped:
        return render(request, "cases/_case_body.html", context, status=status)
    return render(request, "cases/case_detail.html", context, status=status)


def _entries_section(request, case, header, forms) -> dict:
    organisation = request.GET.get("organisation", "")
    return {
        "new_since": selectors.new_entries_since(request.user, case, header.since),
        "entries": selectors.entry_timeline(
            request.user,
            case,
            query=request.GET.get("q", "")[:100],
            category=request.GET.get("category", "")[:64],
            organisation=int(organisation) if organisation.isdigit() else None,
            number=request.GET.get("page"),
        ),
        "entry_filter": {
            "q": request.GET.get("q", "")[:100],
            "category": request.GET.get("category", "")[:64],
            "organisation": organisation,
            "categories": header.readable,
            "organisations": sorted(
                {p.organisation for p in header.participants}, key=lambda o: o.name
            ),
        },
        "entry_form": forms.get("entry_form") or EntryForm(writable=header.writable),
    }


def _people_section(request, case, header, forms) -> dict:
    identity, related = selectors.case_identity(request.user, case)
    lead = header.lead
    return {
        "participants": selectors.case_participants(case),
        "identity": identity,
        "related_people": related,
        "handovers": selectors.case_handovers(request.user, case),
        "categories": Term.objects.of("information_category"),
        "related_form": forms.get("related_form") or RelatedPersonForm(),
        "warning_form": forms.get("warning_form") or SafetyWarningForm(),
        "participant_form": forms.get("participant_form") or ParticipantForm(),
        "invitations": selectors.case_invitations(request.user, case) if header.can_change else [],
        "invitation_form": (
            forms.get("invitation_form")
            or InvitationForm(organisations=selectors.invitable_organisations())
        )
        if header.can_change
        else None,
        "handover_form": forms.get("handover_form")
        or (HandoverForm(organisation_id=lead.organisation_id) if lead else None),
    }


def _overview_section(request, case, header, forms) -> dict:
    return {"overview": selectors.case_overview(request.user, case, header.since)}


def _documents_section(request, case, header, forms) -> dict:
    return {"documents": selectors.case_documents(request.user, case)}


def _goals_section(request, case, header, forms) -> dict:
    return {
        "goals": selectors.case_goals(request.user, case),
        "goal_form": forms.get("goal_form") or GoalForm(),
    }


def _conferences_section(request, case, header, forms) -> dict:
    return {
        "conferences": selectors.case_conferences(request.user, case),
        "conference_form": forms.get("conference_form") or ConferenceForm(),
        "item_form": forms.get("item_form")
        or ConferenceItemForm(
            writable=header.writable,
            people=selectors.named_people(selectors.case_participants(case)),
        ),
    }


def _closing_section(request, case, header, forms) -> dict:
    return {
        "phase_form": forms.get("phase_form") or PhaseForm(initial={"phase": case.phase}),
        "close_form": forms.get("close_form") or CloseForm(),
        "transfers": selectors.case_transfers(request.user, case),
        "transfer_form": forms.get("transfer_form") or _transfer_form(case),
    }


def _transfer_form(case, data=None) -> TransferForm:
    return TransferForm(
        data,
        organisations=selectors.receiving_organisations(case),
        regions=selectors.residence_regions(),
    )


for _section in (
    CaseSection(
        "entries",
        gettext_lazy("Entries"),
        "cases/sections/entries.html",
        _entries_section,
        forms=("entry_form",),
        position=10,
    ),
    CaseSection(
        "people",
        gettext_lazy("People and participants"),
        "cases/sections/people.html",
        _people_section,
        forms=(
            "related_form",
            "participant_form",
            "handover_form",
            "scope_form",
            "warning_form",
            "invitation_form",
        ),
        position=20,
    ),
    CaseSection(
        "overview",
        gettext_lazy("Overview"),
        "cases/sections/overview.html",
        _overview_section,
        position=15,
    ),
    CaseSection(
        "documents",
        gettext_lazy("Documents"),
        "cases/sections/documents.html",
        _documents_section,
        position=30,
    ),
    CaseSection(
        "goals",
        gettext_lazy("Goals"),
        "cases/sections/goals.html",
        _goals_section,
        forms=("goal_form",),
        position=40,
    ),
    CaseSection(
        "conferences",
        gettext_lazy("Case conferences"),
        "cases/sections/conferences.html",
        _conferences_section,
        forms=("conference_form", "item_form"),
        position=50,
    ),
    CaseSection(
        "closing",
        gettext_lazy("Phase and closing"),
        "cases/sections/closing.html",
        _closing_section,
        forms=("phase_form", "close_form", "transfer_form"),
        position=90,
        shown=lambda header: header.can_change,
    ),
):
    register_section(_section)


@login_required
def case_detail(request, case_id: int):
    return render_case_page(request, selectors.access_case(request.user, case_id))


def _post(request, case_or_id, form_name: str, form, perform):
    """Validate, perform, and either go back to the form's section of the case or show it
    with the errors.

    Takes the case when the view already accessed it (one access, one audit event).
    """
    case = (
        case_or_id
        if isinstance(case_or_id, Case)
        else selectors.access_case(request.user, case_or_id, for_write=True)
    )
    section = section_of_form(form_name)
    if form.is_valid():
        try:
            with hide_denials():
                perform(case, form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(case_url(case.pk, section))
    return render_case_page(request, case, status=422, section=section, **{form_name: form})


@login_required
@require_POST
def entry_add(request, case_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    form = EntryForm(
        request.POST, request.FILES, writable=selectors.writable_categories(request.user, case)
    )
    return _post(
        request,
        case,
        "entry_form",
        form,
        lambda case, data: services.entry_create(
            actor=request.user, case=case, data=services.EntryData(**data)
        ),
    )


@login_required
@require_POST
def goal_add(request, case_id: int):
    return _post(
        request,
        case_id,
        "goal_form",
        GoalForm(request.POST),
        lambda case, data: services.goal_add(actor=request.user, case=case, **data),
    )


@login_required
@require_POST
def related_person_add(request, case_id: int):
    return _post(
        request,
        case_id,
        "related_form",
        RelatedPersonForm(request.POST),
        lambda case, data: services.related_person_add(actor=request.user, case=case, **data),
    )


@login_required
@require_POST
def goal_status(request, case_id: int, goal_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    goal = selectors.case_goal(case, goal_id)
    try:
        with hide_denials():
            services.goal_status(
                actor=request.user, goal=goal, status=request.POST.get("status", "")
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(case_url(case_id, "goals"))


@login_required
@require_POST
def participant_add(request, case_id: int):
    return _post(
        request,
        case_id,
        "participant_form",
        ParticipantForm(request.POST),
        lambda case, data: services.participant_add(
            actor=request.user,
            case=case,
            organisation=data["organisation"],
            role=data["role"],
            members=list(data["members"]),
            valid_until=data["valid_until"],
            reason=data["reason"],
        ),
    )


@login_required
def participant_members(request, case_id: int):
    """The named-people choices for an organisation (htmx, while adding a participant)."""
    selectors.access_case(request.user, case_id, action=Action.CHANGE)
    organisation_id = request.GET.get("organisation", "")
    people = staff_of(int(organisation_id)) if organisation_id.isdigit() else []
    return render(request, "cases/_members.html", {"people": people})


@login_required
@require_POST
def participant_scope(request, case_id: int, participant_id: int):
    participant = selectors.participant_for_change(request.user, case_id, participant_id)
    return _post(
        request,
        participant.case,
        "scope_form",
        ScopeForm(request.POST),
        lambda case, data: services.participant_scope(
            actor=request.user,
            participant=participant,
            read=list(data["read"]),
            write=list(data["write"]),
            reason=data["reason"],
        ),
    )


@login_required
@require_POST
def participant_end(request, case_id: int, participant_id: int):
    participant = selectors.participant_for_change(request.user, case_id, participant_id)
    try:
        with hide_denials():
            services.participant_end(actor=request.user, participant=participant)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(case_url(case_id, "people"))


@login_required
@require_POST
def participant_handover(request, case_id: int, participant_id: int):
    participant = selectors.participant_for_change(request.user, case_id, participant_id)
    form = HandoverForm(request.POST, organisation_id=participant.organisation_id)
    return _post(
        request,
        participant.case,
        "handover_form",
        form,
        lambda case, data: services.handover(actor=request.user, participant=participant, **data),
    )


@login_required
@require_POST
def case_phase(request, case_id: int):
    return _post(
        request,
        case_id,
        "phase_form",
        PhaseForm(request.POST),
        lambda case, data: services.case_update(actor=request.user, case=case, phase=data["phase"]),
    )


@login_required
@require_POST
def case_close(request, case_id: int):
    return _post(
        request,
        case_id,
        "close_form",
        CloseForm(request.POST),
        lambda case, data: services.case_close(
            actor=request.user, case=case, closing_reason=data["closing_reason"]
        ),
    )


@login_required
@require_POST
def warning_add(request, case_id: int):
    return _post(
        request,
        case_id,
        "warning_form",
        SafetyWarningForm(request.POST),
        lambda case, data: services.safety_warning_set(actor=request.user, case=case, **data),
    )


def _warning_change(request, case_id: int, warning_id: int, perform):
    case = selectors.access_case(request.user, case_id, for_write=True)
    warning = selectors.case_warning(case, warning_id)
    try:
        with hide_denials():
            perform(warning)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Saved."))
    return redirect(case_url(case_id, "people"))


@login_required
@require_POST
def warning_review(request, case_id: int, warning_id: int):
    try:  # a bad date is no date: the service then names the dates it accepts
        review_on = DateField(required=False).clean(request.POST.get("review_on", "")[:20])
    except ValidationError:
        review_on = None
    return _warning_change(
        request,
        case_id,
        warning_id,
        lambda warning: services.safety_warning_review(
            actor=request.user, warning=warning, review_on=review_on
        ),
    )


@login_required
@require_POST
def warning_end(request, case_id: int, warning_id: int):
    return _warning_change(
        request,
        case_id,
        warning_id,
        lambda warning: services.safety_warning_end(actor=request.user, warning=warning),
    )


@login_required
@require_POST
def conference_add(request, case_id: int):
    def perform(case, data):
        attendees = selectors.active_participants(case)
        services.conference_create(actor=request.user, case=case, attendees=attendees, **data)

    return _post(request, case_id, "conference_form", ConferenceForm(request.POST), perform)


@login_required
@require_POST
def conference_item_add(request, case_id: int, conference_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    conference = selectors.case_conference(case, conference_id)
    form = ConferenceItemForm(
        request.POST,
        writable=selectors.writable_categories(request.user, case),
        people=selectors.named_people(selectors.case_participants(case)),
    )
    return _post(
        request,
        case,
        "item_form",
        form,
        lambda case, data: services.conference_item_add(
            actor=request.user, conference=conference, **data
        ),
    )


@login_required
def entry_document(request, entry_id: int):
    entry = selectors.access_entry(request.user, entry_id)
    if not entry.document:
        raise Http404
    response = FileResponse(
        entry.document.open("rb"), as_attachment=True, filename=entry.document_name or "document"
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_recent_auth("cases.case.export")
def case_export(request, case_id: int):
    case = selectors.access_case(request.user, case_id)
    rows = selectors.export_rows(request.user, case)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{case.number}.csv"'
    response["Cache-Control"] = "no-store"
    writer = csv.DictWriter(response, fieldnames=list(rows[0]) if rows else ["date"])
    writer.writeheader()
    writer.writerows(rows)
    return response


@login_required
def coordination(request):
    if not organisations_with(request.user, frozenset({Role.COORDINATOR})):
        raise PermissionDenied
    return render(
        request,
        "cases/coordination.html",
        {"overview": selectors.coordination_overview(request.user)},
    )


@login_required
def access_history(request, case_id: int):
    case = selectors.access_case(request.user, case_id)
    return render(
        request,
        "cases/access_history.html",
        {"case": case, "events": selectors.case_access_history(request.user, case)},
    )


def referral_page_part(request, referral) -> dict:
    """What cases add to a referral's page (``hotline.views.REFERRAL_PAGE_PARTS``)."""
    return {"referral_case": selectors.case_for_referral(request.user, referral)}


# --- transfer to another organisation ----------------------------------------------------


@login_required
@require_POST
def transfer_propose(request, case_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    return _post(
        request,
        case,
        "transfer_form",
        _transfer_form(case, request.POST),
        lambda case, data: services.transfer_propose(actor=request.user, case=case, **data),
    )


@login_required
@require_POST
def transfer_withdraw(request, transfer_id: int):
    transfer = selectors.access_transfer(request.user, transfer_id)
    try:
        with hide_denials():
            services.transfer_withdraw(actor=request.user, transfer=transfer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The transfer was withdrawn."))
    return redirect(case_url(transfer.case_id, "closing"))


@login_required
def transfer_inbox(request):
    """The transfers offered to the user's organisations, waiting for a decision."""
    return render(
        request,
        "cases/transfer_list.html",
        {"transfers": selectors.incoming_transfers(request.user)},
    )


def _transfer_page(request, transfer, *, status: int = 200, **forms):
    return render(
        request,
        "cases/transfer_detail.html",
        {
            "transfer": transfer,
            "accept_form": forms.get("accept_form")
            or TransferAcceptForm(
                organisation_id=transfer.to_organisation_id,
                initial={"lead_worker": request.user.pk},
            ),
            "decline_form": forms.get("decline_form") or TransferDeclineForm(),
        },
        status=status,
    )


@login_required
def transfer_detail(request, transfer_id: int):
    """What the receiving organisation decides on (no case content), and its decision."""
    return _transfer_page(request, selectors.access_transfer(request.user, transfer_id))


@login_required
@require_POST
def transfer_accept(request, transfer_id: int):
    transfer = selectors.access_transfer(request.user, transfer_id)
    form = TransferAcceptForm(request.POST, organisation_id=transfer.to_organisation_id)
    if form.is_valid():
        lead_worker = form.cleaned_data["lead_worker"]
        try:
            with hide_denials():
                services.transfer_accept(
                    actor=request.user, transfer=transfer, lead_worker=lead_worker
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _("Your organisation now leads case %(number)s.")
                % {"number": transfer.case.number},
            )
            if lead_worker == request.user:
                return redirect("cases:case", case_id=transfer.case_id)
            return redirect("cases:transfers")
    return _transfer_page(request, transfer, status=422, accept_form=form)


@login_required
@require_POST
def transfer_decline(request, transfer_id: int):
    transfer = selectors.access_transfer(request.user, transfer_id)
    form = TransferDeclineForm(request.POST)
    if form.is_valid():
        try:
            with hide_denials():
                services.transfer_decline(
                    actor=request.user, transfer=transfer, reason=form.cleaned_data["reason"]
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _("You declined the transfer of case %(number)s.")
                % {"number": transfer.case.number},
            )
            return redirect("cases:transfers")
    return _transfer_page(request, transfer, status=422, decline_form=form)


# --- outside professionals invited to one case ----------------------------------------------


@login_required
@require_POST
def invitation_add(request, case_id: int):
    form = InvitationForm(request.POST, organisations=selectors.invitable_organisations())
    return _post(
        request,
        case_id,
        "invitation_form",
        form,
        lambda case, data: services.invitation_create(
            actor=request.user, case=case, link=invitation_link_base(request), **data
        ),
    )


@login_required
@require_POST
def invitation_end(request, case_id: int, invitation_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    invitation = selectors.invitation_for_change(request.user, case, invitation_id)
    try:
        with hide_denials():
            services.invitation_end(actor=request.user, invitation=invitation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Saved."))
    return redirect(case_url(case_id, "people"))


def invitation_accept(request, token: str):
    """The page an invitation's link opens (no sign-in): choose a username and a password;
    the second factor follows at the first sign-in."""
    try:
        invitation = services.invitation_open(token)
    except ValidationError as exc:
        return render(
            request, "cases/invitation_accept.html", {"refused": exc.messages}, status=410
        )
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                language=request.LANGUAGE_CODE,
            )
        except ValidationError as exc:
            if "token" in getattr(exc, "error_dict", {}):
                return render(
                    request, "cases/invitation_accept.html", {"refused": exc.messages}, status=410
                )
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Your account is ready. Sign in with your new password; you then set up "
                    "your second factor and find the case under “Cases”."
                ),
            )
            return redirect("accounts:login")
    return render(
        request,
        "cases/invitation_accept.html",
        {"invitation": invitation, "form": form},
        status=422 if form.errors else 200,
    )
