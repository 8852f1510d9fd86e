"""URL converters: numbers in paths limited to what the database can compare.

Flask's `<int:...>` accepts any number of digits; SQLite cannot bind an integer beyond
64 bits (OverflowError, a 500). Such an id names no row, so it is a 404 like any other.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from portal.core.jsonbody import INT_MAX


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` that matches only 0 to 2**63 - 1 (larger: no route, so 404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = INT_MAX, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register(app: Flask) -> None:
    """Replace `int` before any blueprint adds its rules."""
    app.url_map.converters["int"] = BoundedIntegerConverter
