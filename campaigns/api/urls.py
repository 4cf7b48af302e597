from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import creatives, crud, previews, views

router = DefaultRouter()
router.trailing_slash = "/?"  # /products/bulk and /products/bulk/ alike (a POST cannot follow APPEND_SLASH)
router.include_root_view = False
router.register("products", crud.ProductViewSet, basename="product")
router.register("ad-copy", crud.AdCopySetViewSet, basename="ad-copy")
router.register("placements", crud.PlacementViewSet, basename="placement")
router.register("campaigns", crud.CampaignViewSet, basename="campaign")
router.register("pools", crud.ProductPoolViewSet, basename="pool")
router.register("creatives", creatives.CreativeViewSet, basename="creative")

urlpatterns = [
    path("serve/<int:placement_id>", views.ServeView.as_view(), name="serve"),
    path("campaigns/<int:pk>/generate", views.CampaignGenerateView.as_view(), name="campaign-generate"),
    path("jobs/<int:pk>", views.GenerationJobView.as_view(), name="generation-job"),
    # A template's preview with catalogue products: under templates/ for its callers, served here
    # because the products are this app's (templates_app never looks them up).
    path("templates/<int:pk>/preview", previews.TemplatePreviewView.as_view(), name="template-preview"),
    path("", include(router.urls)),
]
