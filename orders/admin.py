"""Admin registration of orders (read-only review; actions come with the managers)."""

from django.contrib import admin

from orders.models import Order, OrderEvent, OrderFill


class OrderFillInline(admin.TabularInline):
    model = OrderFill
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in OrderFill._meta.fields]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["type", "parameters", "actor", "created_at"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "user_id", "exchange", "symbol", "side", "order_type", "quantity", "filled_qty", "status"]
    list_filter = ["status", "exchange", "side", "order_type"]
    search_fields = ["=id", "user_id", "symbol", "exchange_order_id", "client_order_id"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderFillInline, OrderEventInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
