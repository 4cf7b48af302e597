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
        # Checked before the password, so a locked pair costs no hashing and reveals nothing.
        if username and services.login_locked(username=username, address=self._address()):
            raise ValidationError(
                self.error_messages["locked_out"],
                code="locked_out",
                params={"minutes": services.LOGIN_FAILURE_WINDOW_SECONDS // 60},
            )
        cleaned = super().clean()
        if self.user_cache is not None:  # the password matched (a form missing it proves nothing)
            services.login_failures_reset(username=username, address=self._address())
        return cleaned

    def get_invalid_login_error(self):
        # Called by AuthenticationForm.clean exactly when the username and password do not match.
        services.login_failure_record(username=self.cleaned_data.get("username") or "", address=self._address())
        return super().get_invalid_login_error()

    def _address(self) -> str:
        # REMOTE_ADDR: behind a proxy this is the proxy's (headers a client can forge are not trusted).
        return self.request.META.get("REMOTE_ADDR", "") if self.request else ""
