"""Admin wiring for analytics: the admin index sends each role where its work is (`landing`).

It lives here, in the top app, because the index links the dashboards and campaigns' review
galleries; accounts, below campaigns, cannot know them."""

from django.contrib import admin

from .landing import install

install(admin.site)
