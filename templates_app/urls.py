from django.urls import path

from . import views

app_name = "templates_app"
urlpatterns = [
    path("<int:pk>/sheet/", views.preview_sheet, name="preview-sheet"),
    path("<int:pk>/editor/", views.template_editor, name="editor"),
    path("<int:pk>/editor/render", views.template_editor_render, name="editor-render"),
    path("<int:pk>/versions/<int:number>/restore", views.template_version_restore, name="version-restore"),
    path("<int:pk>/editor/save", views.template_editor_save, name="editor-save"),
    path("<int:pk>/editor/publish", views.template_editor_publish, name="editor-publish"),
]
