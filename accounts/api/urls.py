from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
