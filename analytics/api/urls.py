from django.urls import path

from . import statistics, views

urlpatterns = [
    path("conversions", views.ConversionView.as_view(), name="conversions"),
    path("events/batch", views.EventBatchView.as_view(), name="events-batch"),
    path("statistics/breakdown", statistics.StatisticsBreakdownView.as_view(), name="statistics-breakdown"),
    path("statistics/series", statistics.StatisticsSeriesView.as_view(), name="statistics-series"),
]
