"""Admin wiring for accounts: the admin site logs in through the throttled form, and each role lands
where its work is (`landing`)."""

from django.contrib import admin

from .forms import ThrottledAdminAuthenticationForm
from .landing import install

admin.site.login_form = ThrottledAdminAuthenticationForm
install(admin.site)
