from django.urls import path

from . import views

urlpatterns = [
    path("templates/", views.TemplateListView.as_view(), name="template-list"),
    path("templates/<int:pk>/", views.TemplateDetailView.as_view(), name="template-detail"),
    path("templates/<int:pk>/publish", views.TemplatePublishView.as_view(), name="template-publish"),
    path("templates/<int:pk>/versions/", views.TemplateVersionListView.as_view(), name="template-versions"),
    path(
        "templates/<int:pk>/versions/<int:number>/",
        views.TemplateVersionDetailView.as_view(),
        name="template-version-detail",
    ),
]
