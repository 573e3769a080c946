"""The agents' screens (/agent, /dashboard) against other sites: session cookies that never leave this site,
and no console action accepted from another site's page.

Gradio signs an agent in with two cookies: one `Secure; SameSite=None` (so the console works inside another
site's frame) and one without `Secure` for plain-HTTP laptops; and its CORS layer lets any origin read
responses with credentials when the host is not localhost. For a support console that is a cross-site
request forgery hole: a page on any site could drive an agent's browser to reply or resolve. So, on the
console's paths only:

- every cookie set is `HttpOnly; SameSite=Strict` (a request from another site carries no session), and
  `Secure` when the request came over HTTPS, where the plain-HTTP copy is dropped altogether;
- a state-changing request (anything but GET, HEAD, OPTIONS) whose `Origin` (or, without one, `Referer`)
  is another site is refused with 403, as is `Origin: null` (a sandboxed frame). Requests from no browser
  (neither header) cannot be forged by a page and pass;
- CORS headers are only kept for this site's own origin.

"This site" is the request's own `Host`, plus `ASSISTANT_CONSOLE_ORIGINS` when a proxy in front of the
assistant rewrites the host. The scheme comes from uvicorn, which trusts `X-Forwarded-Proto` from the
proxies in `FORWARDED_ALLOW_IPS` (127.0.0.1 by default).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

CONSOLE_PATHS = ("/agent", "/dashboard")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
INSECURE_COOKIE = "access-token-unsecure"  # Gradio's plain-HTTP copy of the session cookie


def on_console(path: str, prefixes: tuple[str, ...] = CONSOLE_PATHS) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


DEFAULT_PORTS = {"http": "80", "https": "443"}


def _netloc(url: str) -> str | None:
    """`host[:port]` of an origin or URL, lower-cased, without its scheme's default port; None for "null" or
    garbage."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return None
    return _without_default_port(parts.netloc.lower(), parts.scheme)


def _without_default_port(netloc: str, scheme: str | None = None) -> str:
    """`host` for `host:443` (https), `host:80` (http), or either when the scheme is not known (a Host header)."""
    if netloc.endswith("]"):  # [::1], no port
        return netloc
    host, colon, port = netloc.rpartition(":")
    defaults = (DEFAULT_PORTS[scheme],) if scheme else tuple(DEFAULT_PORTS.values())
    return host if colon and host and port in defaults else netloc


def harden_cookie(header: str, *, https: bool) -> str | None:
    """One Set-Cookie value with HttpOnly, SameSite=Strict and (over HTTPS) Secure; None to drop it. Rewritten as
    text: the value and every other attribute (Path, Max-Age, Priority, ...) stay as they were."""
    name = header.split("=", 1)[0].strip()
    if https and name.startswith(INSECURE_COOKIE):
        return None
    kept = [part.strip() for part in header.split(";")
            if part.strip().lower().split("=")[0].strip() not in ("samesite", "secure", "httponly")]
    return "; ".join(kept + ["HttpOnly", "SameSite=Strict"] + (["Secure"] if https else []))


class ConsoleGuard:
    """ASGI middleware applying the rules above to the console's paths; everything else passes untouched."""

    def __init__(self, app: ASGIApp, *, trusted_origins: list[str] | tuple[str, ...] = (),
                 paths: tuple[str, ...] = CONSOLE_PATHS):
        self.app = app
        self.paths = paths
        self.trusted = {n for n in (_netloc(o) for o in trusted_origins) if n}

    def _same_site(self, url: str, host: str) -> bool:
        netloc = _netloc(url)
        return netloc is not None and (netloc == _without_default_port(host.lower()) or netloc in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not on_console(scope["path"], self.paths):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        origin, referer = headers.get("origin"), headers.get("referer")
        if scope["method"] not in SAFE_METHODS:
            claimed = origin if origin is not None else referer
            if claimed is not None and not self._same_site(claimed, host):
                log.warning("refused a cross-site %s %s from %r (Host %r); if that is this console's public "
                            "origin behind a proxy, set ASSISTANT_CONSOLE_ORIGINS=[\"%s\"]", scope["method"],
                            scope["path"], claimed[:200], host[:200], claimed[:200])
                body = json.dumps({"detail": "refused: console actions are only accepted from the console's own "
                                             "pages (cross-site request; behind a proxy, set "
                                             "ASSISTANT_CONSOLE_ORIGINS to the public origin)"}).encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        https = scope.get("scheme") == "https"
        foreign = origin is not None and not self._same_site(origin, host)

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response = MutableHeaders(scope=message)
                cookies = response.getlist("set-cookie")
                if cookies:
                    del response["set-cookie"]
                    for value in cookies:
                        hardened = harden_cookie(value, https=https)
                        if hardened is not None:
                            response.append("set-cookie", hardened)
                if foreign:
                    for name in ("access-control-allow-origin", "access-control-allow-credentials"):
                        if name in response:
                            del response[name]
            await send(message)

        await self.app(scope, receive, guarded_send)
