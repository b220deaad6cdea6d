"""Routes of the orders API: ``/api/v1/orders/...``."""

from rest_framework.routers import SimpleRouter

from orders.api.views import OrderViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
v1 = router.urls
