"""Orders in the admin (``order_admin``): list, page, cancel and ask-the-exchange actions."""

from orders.admin import order_admin

__all__ = ["order_admin"]
