"""Pages of the SOP as an agreement: the versions, a draft edited rule by rule with the
check's findings at each rule, signatories and signatures, comments, activation at a
stated date, export and import, the difference between versions, and the replay."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casebridge.accounts.stepup import require_recent_auth
from casebridge.forms import apply_validation_error
from casebridge.network.models import OrganisationType
from casebridge.procedures import selectors, services
from casebridge.procedures.forms import (
    ActivateForm,
    CommentForm,
    DraftForm,
    DraftStartForm,
    ImportForm,
    ReplayForm,
    RuleForm,
    SignatoriesForm,
    SignForm,
)
from casebridge.sharing.models import Protocol


def _draft_versions(user):
    return selectors.visible_protocols(user).order_by("code", "-effective_from")


def _require_drafter(user) -> None:
    if not selectors.may_draft(user):
        raise PermissionDenied


def _editable(request, protocol_id: int) -> Protocol:
    _require_drafter(request.user)
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    if protocol.status != Protocol.Status.DRAFT:
        raise Http404
    return protocol


def _done(request, protocol: Protocol, message: str):
    messages.success(request, message)
    return redirect("procedures:detail", protocol_id=protocol.pk)


@login_required
def protocol_list(request):
    lesson = selectors.lesson(request.GET.get("lesson", ""))
    context = {
        "rows": selectors.protocol_rows(request.user),
        "may_draft": selectors.may_draft(request.user),
        "lesson": lesson,
    }
    if context["may_draft"]:
        active = [r.protocol for r in context["rows"] if r.state == "in_force"]
        context["start_form"] = DraftStartForm(
            versions=_draft_versions(request.user),
            initial={"based_on": active[0].pk if active else None},
        )
        context["import_form"] = ImportForm()
    return render(request, "procedures/list.html", context)


@login_required
def draft_new(request):
    """Start a draft from a version (GET shows the form, e.g. from a lesson learned)."""
    _require_drafter(request.user)
    lesson = selectors.lesson(request.POST.get("lesson") or request.GET.get("lesson", ""))
    form = DraftStartForm(request.POST or None, versions=_draft_versions(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.draft_start(
                actor=request.user,
                based_on=form.cleaned_data["based_on"],
                version=form.cleaned_data["version"],
                lesson=lesson,
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, draft, _("Draft started. Edit its rules, then name who signs."))
    return render(
        request,
        "procedures/draft_new.html",
        {"form": form, "lesson": lesson},
        status=422 if form.errors else 200,
    )


@login_required
def draft_import(request):
    _require_drafter(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > services.MAX_IMPORT_BYTES:
                raise ValidationError({"file": [_("The file is too large.")]})
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError({"file": [_("The file is not UTF-8 text.")]}) from None
            draft = services.draft_import(actor=request.user, text=text)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, draft, _("The file was imported as a draft."))
    return render(
        request, "procedures/import.html", {"form": form}, status=422 if form.errors else 200
    )


def _detail_context(request, protocol: Protocol) -> dict:
    rules, general, general_comments = selectors.rule_views(protocol)
    signatory = selectors.my_signatory(request.user, protocol)
    draft = protocol.status == Protocol.Status.DRAFT
    may_draft = selectors.may_draft(request.user)
    context = {
        "protocol": protocol,
        "state": selectors.state(protocol),
        "rules": rules,
        "general_findings": general,
        "general_comments": general_comments,
        "errors": sum(f.level == "error" for r in rules for f in r.findings)
        + sum(f.level == "error" for f in general),
        "signatories": selectors.signatories(protocol),
        "missing": selectors.still_missing(protocol) if draft else [],
        "content_hash": protocol.content_hash,
        "draft": draft,
        "may_draft": may_draft and draft,
        "signatory": signatory if draft else None,
        "may_replay": selectors.may_replay(request.user),
    }
    if draft and services.may_comment(request.user, protocol):
        context["comment_form"] = CommentForm(rules=protocol.parsed_rules())
    if context["signatory"] and not context["signatory"].signed(protocol.content_hash):
        context["sign_form"] = SignForm(initial={"content_hash": protocol.content_hash})
    if context["may_draft"]:
        context["activate_form"] = ActivateForm(
            initial={
                # the proposed day, unless it passed while the signatures came in
                "effective_from": max(protocol.effective_from, timezone.localdate()),
                "content_hash": protocol.content_hash,
            }
        )
    return context


@login_required
def protocol_detail(request, protocol_id: int):
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    return render(request, "procedures/detail.html", _detail_context(request, protocol))


def _rerender(request, protocol: Protocol, form_name: str, form, status: int = 422):
    context = _detail_context(request, protocol)
    context[form_name] = form
    return render(request, "procedures/detail.html", context, status=status)


@login_required
def draft_edit(request, protocol_id: int):
    protocol = _editable(request, protocol_id)
    form = DraftForm(request.POST or None, initial=DraftForm.initial_of(protocol))
    if request.method == "POST" and form.is_valid():
        try:
            services.draft_update(
                actor=request.user,
                protocol=protocol,
                version=form.cleaned_data["version"],
                effective_from=form.cleaned_data["effective_from"],
                parties=form.cleaned_data["parties"],
                labels=form.texts("label"),
                description=form.texts("description"),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, protocol, _("The draft was saved."))
    return render(
        request,
        "procedures/draft_edit.html",
        {"form": form, "protocol": protocol},
        status=422 if form.errors else 200,
    )


@login_required
def rule_edit(request, protocol_id: int, code: str | None = None):
    protocol = _editable(request, protocol_id)
    rules = protocol.parsed_rules()
    rule = next((r for r in rules if r.code == code), None)
    if code is not None and rule is None:
        raise Http404
    form = RuleForm(
        request.POST or None,
        initial=RuleForm.initial_of(rule) if rule else {"deadline_kind": "within_days"},
        other_rules=[r for r in rules if r.code != code],
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.rule_save(
                actor=request.user, protocol=protocol, code=code, data=form.rule_data()
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, protocol, _("Rule %(code)s saved.") % {"code": saved.code})
    findings = [f for f in services.findings(protocol) if code and f.rule == code]
    return render(
        request,
        "procedures/rule_edit.html",
        {"form": form, "protocol": protocol, "rule": rule, "findings": findings},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def rule_check(request, protocol_id: int, code: str | None = None):
    """The check while the rule form is filled in (htmx): what saving it would find."""
    protocol = _editable(request, protocol_id)
    rules = protocol.parsed_rules()
    if code is not None and code not in {r.code for r in rules}:
        raise Http404
    form = RuleForm(request.POST, other_rules=[r for r in rules if r.code != code])
    found, problems = [], []
    if form.is_valid():
        try:
            found = services.rule_preview(protocol=protocol, code=code, data=form.rule_data())
        except ValidationError as exc:
            problems = exc.messages
    else:
        problems = [
            f"{form.fields[name].label if name in form.fields else ''}: {error}"
            for name, errors in form.errors.items()
            for error in errors
        ]
    return render(
        request,
        "procedures/_live_check.html",
        {"findings": found, "problems": problems, "complete": form.is_valid()},
    )


@login_required
@require_POST
def rule_delete(request, protocol_id: int, code: str):
    protocol = _editable(request, protocol_id)
    try:
        services.rule_delete(actor=request.user, protocol=protocol, code=code)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("procedures:detail", protocol_id=protocol.pk)
    return _done(request, protocol, _("Rule %(code)s removed.") % {"code": code})


@login_required
def signatories(request, protocol_id: int):
    protocol = _editable(request, protocol_id)
    choices = selectors.signing_choices(protocol)
    type_labels = {t.code: t.label for t in OrganisationType.objects.all()}
    initial = {}
    for row in selectors.signatories(protocol):
        if row.party:
            initial[f"party_{row.party}"] = f"{row.organisation_id}:{row.person_id}"
        else:
            initial["legal_reviewer"] = str(row.person_id)
    form = SignatoriesForm(
        request.POST or None,
        initial=initial,
        protocol=protocol,
        choices=choices,
        type_labels=type_labels,
    )
    if request.method == "POST" and form.is_valid():
        parties = {
            party: selectors.signing_pair(form.cleaned_data[f"party_{party}"])
            for party in protocol.parties
        }
        try:
            services.signatories_set(
                actor=request.user,
                protocol=protocol,
                parties=parties,
                legal_reviewer=selectors.person(int(form.cleaned_data["legal_reviewer"])),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, protocol, _("The signatories were named."))
    return render(
        request,
        "procedures/signatories.html",
        {"form": form, "protocol": protocol},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def comment(request, protocol_id: int):
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    form = CommentForm(request.POST, rules=protocol.parsed_rules())
    if form.is_valid():
        try:
            services.comment_add(
                actor=request.user,
                protocol=protocol,
                rule=form.cleaned_data["rule"],
                text=form.cleaned_data["text"],
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, protocol, _("Comment added."))
    return _rerender(request, protocol, "comment_form", form)


@login_required
@require_POST
@require_recent_auth("procedures.protocol.sign")
def sign(request, protocol_id: int):
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            services.protocol_sign(
                actor=request.user,
                protocol=protocol,
                content_hash=form.cleaned_data["content_hash"],
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, protocol, _("You signed this version."))
    return _rerender(request, protocol, "sign_form", form)


@login_required
@require_POST
@require_recent_auth("procedures.protocol.activate")
def activate(request, protocol_id: int):
    protocol = _editable(request, protocol_id)
    form = ActivateForm(request.POST)
    if form.is_valid():
        try:
            services.protocol_activate(
                actor=request.user,
                protocol=protocol,
                effective_from=form.cleaned_data["effective_from"],
                content_hash=form.cleaned_data["content_hash"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, protocol, _("The version is put into force."))
    return _rerender(request, protocol, "activate_form", form)


@login_required
def export(request, protocol_id: int):
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    response = HttpResponse(services.export_toml(protocol), content_type="application/toml")
    name = f"{protocol.code}-{protocol.version}.toml".replace("/", "-")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def protocol_diff(request):
    """What changes between two versions of a procedure, in words."""
    versions = selectors.protocol_versions(request.user)
    old_id, new_id = request.GET.get("old", ""), request.GET.get("new", "")
    context = {"versions": versions, "old_id": old_id, "new_id": new_id, "changes": None}
    if old_id.isdigit() and new_id.isdigit():
        old, new, changes = selectors.protocol_difference(request.user, int(old_id), int(new_id))
        context.update(old=old, new=new, changes=changes)
    return render(request, "procedures/diff.html", context)


@login_required
def replay(request, protocol_id: int):
    """Run a period's past events through this version and the one in force (changes
    nothing; counts per rule, no case and no person)."""
    if not selectors.may_replay(request.user):
        raise PermissionDenied
    protocol = selectors.protocol_for_reader(request.user, protocol_id)
    form = ReplayForm(request.GET or None, initial=selectors.replay_default_period())
    report, baseline = None, selectors.replay_baseline(protocol)
    if request.GET and form.is_valid() and baseline is not None:
        try:
            report = selectors.replay(
                actor=request.user,
                draft=protocol,
                baseline=baseline,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
    return render(
        request,
        "procedures/replay.html",
        {"form": form, "protocol": protocol, "baseline": baseline, "report": report},
        status=422 if form.errors else 200,
    )
