"""Admin wiring for accounts: the admin site logs in through the throttled form."""

from django.contrib import admin

from .forms import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm
