"""Security headers and the Content-Security-Policy, which allow-lists exactly the
proctoring origins (scripts, connections and frames come from there).

What the real Supervisor SDK needs beyond its own origin (contract §1.6): its socket.io
websocket (`ws://` / `wss://` of the origin: an `http(s)://` source does not cover it) and
its face-detection Web Worker, made from a `blob:` URL (`worker-src`; without it
`script-src` applies and blocks the worker). Nothing wider."""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app, request

from portal.proctoring import providers

# Pages the proctoring server may show in its IFRAME (token links, Constructor's
# sessionUrl). Every other page refuses to be framed.
FRAMEABLE_ENDPOINTS = {"proctoring.framed_attempt"}


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def proctoring_origins() -> list[str]:
    """Every provider's origins (its settings' URLs), each once, sorted."""
    config = current_app.config
    origins = [origin_of(url) for provider in providers.all_providers()
               for url in provider.page_origins(config)]
    return sorted({o for o in origins if o})


def websocket_origin(origin: str) -> str:
    """`https://host` -> `wss://host`, `http://host` -> `ws://host` (the SDK's socket.io)."""
    scheme, _, rest = origin.partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest


def frameable() -> bool:
    return request.endpoint in FRAMEABLE_ENDPOINTS


def content_security_policy(framed: bool | None = None) -> str:
    """The policy of the current request's page (`framed`: whether it may be framed,
    by default as its endpoint says)."""
    return _policy(tuple(proctoring_origins()), frameable() if framed is None else framed)


@lru_cache(maxsize=32)
def _policy(origins: tuple[str, ...], framed: bool) -> str:
    """Built once per set of proctoring origins and page kind: every response carries it."""
    proctor = " ".join(origins)
    sockets = " ".join(websocket_origin(o) for o in origins)
    ancestors = proctor if framed else "'none'"
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {proctor}",
        # The proctoring SDK draws its UI with inline styles.
        f"style-src 'self' 'unsafe-inline' {proctor}",
        f"img-src 'self' data: blob: {proctor}",
        f"media-src 'self' blob: {proctor}",
        f"connect-src 'self' {proctor} {sockets}",
        "worker-src 'self' blob:",
        f"frame-src {proctor}",
        f"form-action 'self' {proctor}",
        f"frame-ancestors {ancestors}",
        "base-uri 'self'",
        "object-src 'none'",
    ])


def register(app: Flask) -> None:
    @app.after_request
    def set_security_headers(response):
        framed = frameable()
        response.headers.setdefault("Content-Security-Policy", content_security_policy(framed))
        if not framed:
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html" or response.mimetype == "application/json":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
