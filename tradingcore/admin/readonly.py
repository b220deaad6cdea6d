"""Read-only admin pieces shared by the apps: pages that show rows nobody edits by hand (changes go
through the managers, as confirmed actions), inlines on a parent's page, the columns that name a
row (its short id, user and exchange)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tradingcore.admin import display

EVENT_FIELDS = ("when", "type", "actor", "parameters")


class ReadOnlyAdmin:
    """A ModelAdmin mixin (listed before ``ModelAdmin``): no add, change or delete, the shared stylesheet."""

    class Media:
        css = {"all": ["tradingcore/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RowColumns:
    """A ModelAdmin mixin: the list columns naming a row of a trading model (``id``, ``user_id``,
    ``exchange``): ``short``, ``user`` and ``venue``."""

    @admin.display(description="id", ordering="id")
    def short(self, row: Any) -> SafeString:
        return format_html('<span class="tc-id" title="{}">{}</span>', row.pk, display.short_id(row.pk))

    @admin.display(description="user", ordering="user_id")
    def user(self, row: Any) -> SafeString:
        return display.short_text(row.user_id, 14)

    @admin.display(description="exch.", ordering="exchange")
    def venue(self, row: Any) -> str:
        return str(row.exchange)


class ReadOnlyInline(admin.TabularInline):
    """An inline that lists rows and offers no add, change or delete."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    """An object's event log (``model`` set by the subclass), oldest first, with who acted."""

    verbose_name_plural = "events"
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    ordering = ["id"]

    @admin.display(description="time")
    def when(self, event: Any) -> SafeString:
        return display.moment(event.created_at)
