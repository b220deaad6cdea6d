"""Admin registration of positions (review actions come with the managers)."""

from django.contrib import admin

from positions.models import Position, PositionEvent


class PositionEventInline(admin.TabularInline):
    model = PositionEvent
    extra = 0
    can_delete = False
    readonly_fields = ["type", "parameters", "actor", "created_at"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ["id", "user_id", "exchange", "symbol", "side", "grid_level", "size", "entry_price", "status"]
    list_filter = ["status", "exchange", "side", "review_status"]
    search_fields = ["=id", "user_id", "symbol"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Position._meta.fields if f.name not in {"review_status", "review_note"}]
    inlines = [PositionEventInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
