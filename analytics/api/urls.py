from django.urls import path

from . import views

urlpatterns = [
    path("conversions", views.ConversionView.as_view(), name="conversions"),
]
