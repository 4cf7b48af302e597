"""Django's authentication and messages middleware, skipped on the serve path.

`GET /api/v1/serve/{id}` is most of the site's traffic, and its callers are placements' servers
with a key: ServeView authenticates by the key alone (never `request.user`) and adds no message.
These two only matter to browsers, and cost a serve more than the rest of the middleware (the
messages storage is built per request), so for paths under SERVE_PATH they pass the request
straight on and add nothing to the answer (which, with no user or message in use, they would not
anyway). Every other path, the rest of the API included, runs them as Django's own do.

The session and CSRF middleware stay Django's own on every path: `check --deploy` looks for them
by name (their cookie settings are checked only then), and they cost a serve little.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware

SERVE_PATH = "/api/v1/serve/"


def _not_on_serve_path(middleware: type) -> type:
    class Middleware(middleware):
        def __call__(self, request):
            if request.path_info.startswith(SERVE_PATH):
                return self.get_response(request)
            return super().__call__(request)

    Middleware.__name__ = Middleware.__qualname__ = middleware.__name__
    Middleware.__doc__ = f"{middleware.__module__}.{middleware.__name__}, skipped on the serve path."
    return Middleware


AuthenticationMiddleware = _not_on_serve_path(DjangoAuthenticationMiddleware)
MessageMiddleware = _not_on_serve_path(DjangoMessageMiddleware)
