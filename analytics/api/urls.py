from django.urls import path

from . import views

urlpatterns = [
    path("conversions", views.ConversionView.as_view(), name="conversions"),
    path("events/batch", views.EventBatchView.as_view(), name="events-batch"),
]
