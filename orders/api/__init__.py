"""REST API of orders (``/api/v1/orders/``)."""
