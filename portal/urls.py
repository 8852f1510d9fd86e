"""Absolute URLs of the portal, as the outside world (a proctoring server) must use them.

They are built from PUBLIC_URL alone, never from the request: the request's Host header
is chosen by whoever sends it, and a token whose `api` followed it would make the
proctoring server post a student's results, with the webhook key, to that host.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import current_app
from werkzeug.routing import Map, MapAdapter


def public_url(endpoint: str, **values: Any) -> str:
    """PUBLIC_URL followed by the endpoint's path (and `values` the rule does not take, as
    the query), the same inside a request, in a worker or in the CLI.

    PUBLIC_URL may carry a path prefix (https://host/portal); the endpoint's path is
    appended to it. Raises RuntimeError when PUBLIC_URL is unset, which config.validate
    never allows; werkzeug's BuildError for an unknown endpoint or missing values."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise RuntimeError("PUBLIC_URL is not set (config.validate requires it)")
    return base + _adapter(current_app.url_map).build(endpoint, values)


@lru_cache(maxsize=8)
def _adapter(url_map: Map) -> MapAdapter:
    """One binding per app (a token request builds three URLs): the host given here never
    reaches the result, which is a path relative to the application's root."""
    return url_map.bind("portal.invalid", script_name="/")
