from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("serve/<int:placement_id>", views.ServeView.as_view(), name="serve"),
]
