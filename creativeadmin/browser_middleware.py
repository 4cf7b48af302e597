"""Django's session, CSRF, authentication and messages middleware, skipped on the serve path.

`GET /api/v1/serve/{id}` is most of the site's traffic, and its callers are placements' servers
with a key: ServeView authenticates by the key alone (never the session or `request.user`), is
exempt from CSRF, and adds no message. These four only matter to browsers, and together cost a
tenth of a serve, so for paths under SERVE_PATH they pass the request straight on and add nothing
to the answer (for a request that has no session, CSRF token or message in use, they add nothing
anyway). Every other path, including the rest of the API, runs them as Django's own do.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrfViewMiddleware

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


SessionMiddleware = _not_on_serve_path(DjangoSessionMiddleware)
CsrfViewMiddleware = _not_on_serve_path(DjangoCsrfViewMiddleware)
AuthenticationMiddleware = _not_on_serve_path(DjangoAuthenticationMiddleware)
MessageMiddleware = _not_on_serve_path(DjangoMessageMiddleware)
