"""Admin actions that act through the managers, each behind a permission and a confirmation page.

A ``ConfirmedAction`` says who may use it (``permission``), what it asks for (``form_class``),
what it will do to each object (``plan``: the exact steps, or why it will not act) and how it
acts (``run``: a manager call, with ``actor`` naming the admin). ``ConfirmedActionsAdmin`` gives
a ModelAdmin:

- a page per action, ``<changelist>/act/<name>/?ids=...``: first the form (when the action asks
  for anything), then the plan for every object and a Confirm button. The confirmation carries a
  fingerprint of each object's state; an object that changed since its plan was shown is left
  alone ("show the plan again"), so nothing happens that the operator did not see;
- the actions in the change list's drop-down (for actions that may act on several objects at
  once), which lead to that page;
- 403 for a user without the permission, on the page and when posting the change list's action;
  such a user is never offered the action;
- one message per object: what was done, what the exchange or the service refused (any
  ``TradingError``, so exchange errors are messages, never server errors), what was skipped and why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from tradingcore.exceptions import TradingError

MAX_OBJECTS = 100


def actor(request: HttpRequest) -> str:
    """How the event log names what this admin user does."""
    return f"admin:{request.user.get_username()}"


def fingerprint(*values: Any) -> str:
    """A short digest of the state a plan depends on."""
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


@dataclass
class Plan:
    """What an action will do to one object: its steps in order, warnings, or why it will not act."""

    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocked: str = ""


@dataclass
class Outcome:
    """What an action did to one object: a message level and text."""

    level: int
    text: str

    @property
    def done(self) -> bool:
        return self.level == messages.SUCCESS


class ConfirmedAction:
    """One action of the admin; subclasses set the class attributes and write ``plan`` and ``run``."""

    name: ClassVar[str]  # in the URL and the change list's drop-down
    title: ClassVar[str]  # the button and the page title
    permission: ClassVar[str]  # "app_label.codename"
    many: ClassVar[bool] = True  # may act on several objects at once (offered in the change list)
    help: ClassVar[str] = ""
    confirm_label: ClassVar[str] = "Confirm"
    form_class: ClassVar[type[forms.Form]] = forms.Form

    def applies(self, obj: Any) -> bool:
        """Whether the object's page offers the action (the action page still plans and refuses)."""
        return True

    def make_form(self, data: Any, objects: Sequence[Any], request: HttpRequest) -> forms.Form:
        return self.form_class(data)

    def describe(self, obj: Any) -> str:
        return str(obj)

    def fingerprint(self, obj: Any) -> str:
        """The state the plan depends on; a change in between leaves the object alone."""
        return ""

    def plan(self, obj: Any, params: dict[str, Any], request: HttpRequest) -> Plan:
        raise NotImplementedError

    def run(self, obj: Any, params: dict[str, Any], request: HttpRequest) -> str:
        """Act through a manager; returns what was done. Raises ``TradingError`` when refused."""
        raise NotImplementedError


def _leads_to(action: ConfirmedAction) -> Callable[[Any, HttpRequest, QuerySet[Any]], HttpResponse]:
    def lead(model_admin: ConfirmedActionsAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        return model_admin.redirect_to_action(request, action, list(queryset.values_list("pk", flat=True)))

    lead.__name__ = action.name
    return lead


class ConfirmedActionsAdmin(admin.ModelAdmin):
    """A ModelAdmin whose ``confirmed_actions`` each get a permission check and a confirmation page."""

    confirmed_actions: ClassVar[Sequence[ConfirmedAction]] = ()
    action_template = "admin/tradingcore/confirm_action.html"

    # -- wiring ------------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_act"
        return [
            path("act/<slug:action>/", self.admin_site.admin_view(self.action_view), name=name),
            *super().get_urls(),
        ]

    def confirmed(self, name: str) -> ConfirmedAction | None:
        return next((action for action in self.confirmed_actions if action.name == name), None)

    def may(self, request: HttpRequest, action: ConfirmedAction) -> bool:
        return request.user.has_perm(action.permission)

    def action_url(self, action: ConfirmedAction, pks: Sequence[Any]) -> str:
        base = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_act", args=[action.name])
        return f"{base}?{urlencode({'ids': ','.join(str(pk) for pk in pks)})}"

    def offered_actions(self, request: HttpRequest, obj: Any) -> list[dict[str, str]]:
        """The buttons of an object's page: the actions this user may use that apply to it."""
        return [
            {"title": action.title, "url": self.action_url(action, [obj.pk]), "name": action.name}
            for action in self.confirmed_actions
            if self.may(request, action) and action.applies(obj)
        ]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if self.actions is None:
            return actions
        for action in self.confirmed_actions:
            if action.many and self.may(request, action):
                actions[action.name] = (_leads_to(action), action.name, f"{action.title}…")  # type: ignore[assignment]
        return actions

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST" and "action" in request.POST:
            chosen = self.confirmed(_chosen_action(request))
            if chosen is not None and not self.may(request, chosen):
                raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def redirect_to_action(self, request: HttpRequest, action: ConfirmedAction, pks: Sequence[Any]) -> HttpResponse:
        if len(pks) > MAX_OBJECTS:
            self.message_user(request, f"Select at most {MAX_OBJECTS} at once ({len(pks)} selected).", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponseRedirect(self.action_url(action, pks))

    # -- the action page -------------------------------------------------------------------------

    def action_view(self, request: HttpRequest, action: str) -> HttpResponse:
        chosen = self.confirmed(action)
        if chosen is None:
            raise Http404(f"no action {action}")
        if not self.may(request, chosen):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        objects = self._objects(request, source.get("ids", ""))
        if not objects:
            self.message_user(request, "Nothing selected: no action taken.", messages.WARNING)
            return HttpResponseRedirect(self._changelist_url())
        if len(objects) > 1 and not chosen.many:
            self.message_user(
                request, f"{chosen.title} acts on one {self.opts.verbose_name} at a time.", messages.ERROR
            )
            return HttpResponseRedirect(self._changelist_url())
        asks = bool(chosen.make_form(None, objects, request).fields)
        bound = request.method == "POST" or "_preview" in request.GET or not asks
        form = chosen.make_form(source if bound else None, objects, request)
        if request.method == "POST" and "_confirm" in request.POST and form.is_valid():
            return self._run(request, chosen, objects, form.cleaned_data)
        stage = "confirm" if bound and form.is_valid() else "edit"
        return self._render(request, chosen, objects, form, stage)

    def _objects(self, request: HttpRequest, ids: str) -> list[Any]:
        pks = []
        for raw in ids.split(",")[: MAX_OBJECTS + 1]:
            try:
                pks.append(self.opts.pk.to_python(raw.strip()))
            except ValidationError:
                continue
        found = {obj.pk: obj for obj in self.get_queryset(request).filter(pk__in=[pk for pk in pks if pk])}
        return [found[pk] for pk in dict.fromkeys(pks) if pk in found]

    def _render(
        self, request: HttpRequest, action: ConfirmedAction, objects: list[Any], form: forms.Form, stage: str
    ) -> HttpResponse:
        params = form.cleaned_data if stage == "confirm" else {}
        items = [
            {
                "pk": obj.pk,
                "label": action.describe(obj),
                "url": self._change_url(obj),
                "plan": self._safe_plan(action, obj, params, request) if stage == "confirm" else None,
                "fingerprint": action.fingerprint(obj),
            }
            for obj in objects
        ]
        ids = ",".join(str(obj.pk) for obj in objects)
        kept = [(key, str(value)) for key, value in request.GET.items() if key != "ids" and not key.startswith("_")]
        edit_query = urlencode([("ids", ids), *kept])
        context = {
            **self.admin_site.each_context(request),
            "title": action.title,
            "subtitle": None,
            "opts": self.opts,
            "action": action,
            "form": form,
            "stage": stage,
            "items": items,
            "ids": ids,
            "single": items[0] if len(items) == 1 else None,
            "actionable": any(item["plan"] and not item["plan"].blocked for item in items),
            "edit_url": f"?{edit_query}",
            "asks": bool(form.fields),
            "cancel_url": items[0]["url"] if len(items) == 1 else self._changelist_url(),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.action_template, context)

    def _safe_plan(self, action: ConfirmedAction, obj: Any, params: dict[str, Any], request: HttpRequest) -> Plan:
        try:
            return action.plan(obj, params, request)
        except TradingError as error:
            return Plan(blocked=error.message)

    def _run(
        self, request: HttpRequest, action: ConfirmedAction, objects: list[Any], params: dict[str, Any]
    ) -> HttpResponse:
        outcomes = [self._run_one(request, action, obj, params) for obj in objects]
        for obj, outcome in zip(objects, outcomes, strict=True):
            self.message_user(request, f"{action.describe(obj)}: {outcome.text}", outcome.level)
        if len(objects) > 1:
            done = sum(outcome.done for outcome in outcomes)
            failed = sum(outcome.level == messages.ERROR for outcome in outcomes)
            skipped = len(outcomes) - done - failed
            summary = f"{action.title} on {len(objects)} {self.opts.verbose_name_plural}: {done} done, {failed} failed"
            self.message_user(request, f"{summary}, {skipped} skipped.", messages.INFO)
            return HttpResponseRedirect(self._changelist_url())
        return HttpResponseRedirect(self._change_url(objects[0]))

    def _run_one(self, request: HttpRequest, action: ConfirmedAction, obj: Any, params: dict[str, Any]) -> Outcome:
        obj = self.get_queryset(request).filter(pk=obj.pk).first()  # the state now, not the one the form loaded
        if obj is None:
            return Outcome(messages.WARNING, "no longer exists: nothing done")
        if request.POST.get(f"fingerprint-{obj.pk}", "") != action.fingerprint(obj):
            return Outcome(messages.WARNING, "changed since the plan was shown: nothing done; show the plan again")
        plan = self._safe_plan(action, obj, params, request)
        if plan.blocked:
            return Outcome(messages.WARNING, f"skipped: {plan.blocked}")
        try:
            text = action.run(obj, params, request)
        except TradingError as error:
            return Outcome(messages.ERROR, f"{action.title.lower()} failed: {error.message} ({error.code})")
        self.log_change(request, obj, f"{action.title}: {text}")
        return Outcome(messages.SUCCESS, text)

    def _change_url(self, obj: models.Model) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])

    def _changelist_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")


def _chosen_action(request: HttpRequest) -> str:
    """The action the change list's form posted (there may be a drop-down above and below the list)."""
    names = request.POST.getlist("action")
    try:
        return names[int(request.POST.get("index", 0))]
    except (ValueError, IndexError):
        return ""
