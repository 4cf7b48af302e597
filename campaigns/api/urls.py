from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("serve/<int:placement_id>", views.ServeView.as_view(), name="serve"),
    path("campaigns/<int:pk>/generate", views.CampaignGenerateView.as_view(), name="campaign-generate"),
    path("jobs/<int:pk>", views.GenerationJobView.as_view(), name="generation-job"),
]
