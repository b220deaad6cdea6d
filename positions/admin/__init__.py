"""Positions in the admin: the list, page and actions (``position_admin``, ``actions``, ``chart``)
and the operator's overview (``overview``), linked from the admin's index."""

from django.contrib import admin

from positions.admin import position_admin

admin.site.index_template = "admin/positions/site_index.html"

__all__ = ["position_admin"]
