"""Admin wiring for accounts: the throttled login form, and personal API keys (each shown once, when made).
Where each role lands after login is analytics' `landing`."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from . import services
from .forms import ThrottledAdminAuthenticationForm
from .models import UserAPIKey

admin.site.login_form = ThrottledAdminAuthenticationForm

# The library's own keys belong to no one; this site's keys are personal (UserAPIKey).
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(UserAPIKey)
class UserAPIKeyAdmin(APIKeyModelAdmin):
    """Each person sees and makes their own keys (superusers see everyone's); revoking cannot be undone."""

    list_display = ("prefix", "name", "user", "created", "last_used_at", "expiry_date", "_has_expired", "revoked")
    list_filter = ("revoked", "created")
    search_fields = ("name", "prefix", "user__username")
    fields = ("name", "expiry_date", "revoked", "prefix", "user", "created", "last_used_at")

    def get_queryset(self, request):
        keys = super().get_queryset(request).select_related("user")
        return keys if request.user.is_superuser else keys.filter(user=request.user)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "user", "created", "last_used_at")

    def get_fields(self, request, obj=None):
        if obj is None:  # made for the person making it: name and expiry are all there is to choose
            return ("name", "expiry_date")
        return self.fields

    def has_add_permission(self, request):
        return super().has_add_permission(request) and services.api_key_holder_allowed(request.user)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            user = request.user

            class OwnKeyForm(form):
                def clean(self):
                    cleaned = super().clean()
                    if not services.api_key_holder_allowed(user):
                        raise ValidationError("API keys are for active members of a role, not superusers.")
                    return cleaned

            return OwnKeyForm
        return form

    def save_model(self, request, obj, form=None, change=False):
        if change:
            obj.save()  # name, expiry, or revoked (which the model refuses to undo)
            return
        api_key, key = services.api_key_create(user=request.user, name=obj.name, expiry_date=obj.expiry_date)
        # The admin goes on with `obj` (the log entry, the redirect): make it the stored row.
        obj.pk, obj.prefix, obj.hashed_key = api_key.pk, api_key.prefix, api_key.hashed_key
        obj.user, obj.created = api_key.user, api_key.created
        obj._state.adding = False
        messages.warning(
            request,
            f"The API key “{api_key.name}” is: {key} — copy it now: it is stored only as a hash and "
            "cannot be shown again. Send it as `Authorization: Bearer <key>`.",
        )
