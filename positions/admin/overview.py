"""The operator's overview: what is at risk and what needs a look, each figure a link to its list.

Open exposure by user and by market, realized PnL by day (a chart), open positions without a
stop-loss, orders stuck ``pending`` or with an unknown outcome, the outbox's depth and the last
``verify_redis`` run, flagged positions. Every figure is one aggregate query; nothing is cached.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, DecimalField, ExpressionWrapper, F, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from orders.admin.filters import STUCK_AFTER, stuck_pending, unknown_outcome
from orders.models import OrderFill
from positions.admin import chart
from positions.models import Position
from tradingcore.admin import display
from tradingcore.decimals import ZERO
from tradingcore.enums import PositionSide, PositionStatus, ReviewStatus
from tradingcore.models import OutboxEntry
from tradingcore.redis import verify_runs

DAYS = 30
TOP = 15
MONEY = DecimalField(max_digits=38, decimal_places=16)


def positions_url(**filters: Any) -> str:
    return f"{reverse('admin:positions_position_changelist')}?{urlencode(filters)}"


def orders_url(**filters: Any) -> str:
    return f"{reverse('admin:orders_order_changelist')}?{urlencode(filters)}"


def render(request: HttpRequest, site: AdminSite) -> HttpResponse:
    """The overview page; 403 for staff who may not see positions."""
    if not request.user.has_perm("positions.view_position"):
        raise PermissionDenied
    now = timezone.now()
    context = {
        **site.each_context(request),
        "title": "Operator overview",
        "now": now,
        "by_user": exposure(["user_id"], lambda row: positions_url(status__exact="open", user_id=row["user_id"])),
        "by_market": exposure(
            ["exchange", "symbol"],
            lambda row: positions_url(status__exact="open", exchange__exact=row["exchange"], symbol=row["symbol"]),
        ),
        **realized_by_day(now.date()),
        "attention": attention(now),
        "last_verification": verify_runs.latest(),
        "verification_url": reverse("admin:tradingcore_verificationrun_changelist"),
    }
    return TemplateResponse(request, "admin/positions/overview.html", context)


def _open_notional() -> ExpressionWrapper:
    return ExpressionWrapper(F("size") * Coalesce(F("current_price"), F("entry_price")), output_field=MONEY)


def exposure(group: list[str], link: Any) -> dict[str, Any]:
    """Open exposure grouped by ``group``: gross and net notional at the mark (the entry while no mark
    is known), long and short, unrealized PnL and count; the largest ``TOP`` rows and the totals."""
    notional = _open_notional()
    long = Sum(Case(When(side=PositionSide.LONG, then=notional), default=Value(ZERO), output_field=MONEY))
    short = Sum(Case(When(side=PositionSide.SHORT, then=notional), default=Value(ZERO), output_field=MONEY))
    rows = list(
        Position.objects.filter(status=PositionStatus.OPEN)
        .values(*group)
        .annotate(positions=Count("id"), long=long, short=short, upnl=Sum("unrealized_pnl"))
        .annotate(gross=F("long") + F("short"))
        .order_by("-gross", *group)
    )
    shown = [
        {
            "name": " ".join(str(row[key]) for key in group),
            "url": link(row),
            "positions": row["positions"],
            "long": display.fixed(row["long"]),
            "short": display.fixed(row["short"]),
            "net": display.signed(row["long"] - row["short"]),
            "gross": display.fixed(row["gross"]),
            "upnl": display.signed(row["upnl"]),
        }
        for row in rows[:TOP]
    ]
    gross = sum((row["gross"] for row in rows), ZERO)
    net = sum((row["long"] - row["short"] for row in rows), ZERO)
    upnl = sum((row["upnl"] for row in rows), ZERO)
    return {
        "url": positions_url(status__exact="open"),
        "rows": shown,
        "more": max(len(rows) - TOP, 0),
        "positions": sum(row["positions"] for row in rows),
        "gross": display.fixed(gross),
        "net": display.signed(net),
        "upnl": display.signed(upnl),
    }


def realized_by_day(today: date) -> dict[str, Any]:
    """Gross realized PnL of the last ``DAYS`` days (UTC), from the reducing fills."""
    since = today - timedelta(days=DAYS - 1)
    start = timezone.make_aware(datetime.combine(since, datetime.min.time()))
    totals = dict(
        OrderFill.objects.filter(filled_at__gte=start, order__position__isnull=False)
        .annotate(day=TruncDate("filled_at"))
        .values("day")
        .annotate(total=Sum("realized_pnl"))
        .values_list("day", "total")
    )
    days = [(since + timedelta(days=n), totals.get(since + timedelta(days=n), ZERO)) for n in range(DAYS)]
    return {
        "daily_chart": chart.daily_bars(days, lambda day: positions_url(realized_on=day.isoformat())),
        "realized_total": display.signed(sum((amount for _, amount in days), ZERO)),
        "realized_total_url": positions_url(realized_on=f"{since.isoformat()}/{today.isoformat()}"),
        "realized_today": display.signed(days[-1][1]),
        "realized_today_url": positions_url(realized_on=today.isoformat()),
    }


def _count(queryset: QuerySet[Any]) -> int:
    return queryset.count()


def attention(now: datetime) -> list[dict[str, Any]]:
    """The figures that should be zero, each with the list behind it."""
    open_positions = Position.objects.filter(status=PositionStatus.OPEN)
    outbox = OutboxEntry.objects.aggregate(depth=Count("id"), oldest=Min("created_at"))
    minutes = int(STUCK_AFTER.total_seconds() // 60)
    oldest = outbox["oldest"]
    return [
        {
            "name": "open positions without a stop-loss",
            "count": _count(open_positions.filter(stop_loss_price__isnull=True)),
            "url": positions_url(status__exact="open", stop_loss="none"),
        },
        {
            "name": f"orders pending over {minutes} min",
            "count": _count(stuck_pending(now)),
            "url": orders_url(attention="stuck"),
        },
        {
            "name": "orders with an unknown outcome",
            "count": _count(unknown_outcome()),
            "url": orders_url(attention="unknown"),
        },
        {
            "name": "outbox depth (waiting for Redis)",
            "count": outbox["depth"],
            "detail": f"oldest {int((now - oldest).total_seconds())} s" if oldest else "",
            "url": reverse("admin:tradingcore_outboxentry_changelist"),
        },
        {
            "name": "positions flagged in review",
            "count": _count(Position.objects.filter(review_status=ReviewStatus.FLAGGED)),
            "url": positions_url(review_status__exact="flagged"),
        },
        {
            "name": "open positions not reviewed",
            "count": _count(open_positions.filter(Q(review_status=ReviewStatus.UNREVIEWED))),
            "url": positions_url(status__exact="open", review_status__exact="unreviewed"),
            "quiet": True,
        },
    ]
