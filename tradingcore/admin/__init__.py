"""The admin of the shared domain: exchange accounts (credentials set, never shown), API keys
(created with the key shown once, revoked), paper marks, the read-only outbox and the record of
``verify_redis`` runs. ``confirm`` and ``display`` are the plumbing every app's admin shares."""

from django.contrib import admin

from tradingcore.admin import accounts, keys, marks, outbox, verification

admin.site.site_header = "Trading core"
admin.site.site_title = "Trading core admin"
# The lists are wide (prices, PnL, ROE, times): they need the width more than a second app menu.
admin.site.enable_nav_sidebar = False

__all__ = ["accounts", "keys", "marks", "outbox", "verification"]
