"""The admin's login form, throttled per username and client address (see accounts.services)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from . import services


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked_out": (
            "Too many failed logins for this username from your address. "
            "Logins are refused for up to %(minutes)d minutes; try again later."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password")
        address = self._address()
        # Counted and refused before the password is checked, so a locked pair costs no hashing and
        # reveals nothing. An attempt without a password checks nothing and is not counted.
        if username and password:
            admitted = services.login_attempt_admit(username=username, address=address)
        else:
            admitted = not (username and services.login_locked(username=username, address=address))
        if not admitted:
            raise ValidationError(
                self.error_messages["locked_out"],
                code="locked_out",
                params={"minutes": services.LOGIN_FAILURE_WINDOW_SECONDS // 60},
            )
        cleaned = super().clean()
        if self.user_cache is not None:  # the password matched (a form missing it proves nothing)
            services.login_failures_reset(username=username, address=address)
        return cleaned

    def _address(self) -> str:
        # REMOTE_ADDR: behind a proxy this is the proxy's (headers a client can forge are not trusted).
        return self.request.META.get("REMOTE_ADDR", "") if self.request else ""
