from django.urls import path

from . import views

app_name = "templates_app"
urlpatterns = [
    path("<int:pk>/sheet/", views.preview_sheet, name="preview-sheet"),
]
