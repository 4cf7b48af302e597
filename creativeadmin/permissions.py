"""API permission classes shared by the apps."""

from rest_framework.permissions import DjangoModelPermissions


class ModelPermissionsIncludingView(DjangoModelPermissions):
    """DjangoModelPermissions, but reads need the model's `view_` permission too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class ModelViewPermission(DjangoModelPermissions):
    """Any method needs only the model's `view_` permission (for read-like POSTs such as a preview)."""

    perms_map = {method: ["%(app_label)s.view_%(model_name)s"] for method in DjangoModelPermissions.perms_map}


class ModelChangePermission(DjangoModelPermissions):
    """Any method needs the model's `change_` permission (an action on one object, such as publishing it)."""

    perms_map = {method: ["%(app_label)s.change_%(model_name)s"] for method in DjangoModelPermissions.perms_map}
