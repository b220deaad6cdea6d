"""Routes of the positions API: ``/api/v1/positions/...`` (``v1``) and the HYPERRSI routes (``hyperrsi``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from positions.api import compat
from positions.api.views import PositionViewSet

router = SimpleRouter()
router.register("positions", PositionViewSet, basename="position")
v1 = router.urls

hyperrsi = [
    path("open", compat.open_position, name="hyperrsi-open"),
    path("close", compat.close_position, name="hyperrsi-close"),
    path("<str:user_id>", compat.positions_of_user, name="hyperrsi-positions"),
]
