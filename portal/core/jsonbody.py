"""Reading JSON request bodies: one parser for every JSON endpoint of the portal.

Hostile bodies are refused with a 400 a person can act on, before any code sees them:
- nested deeper than `MAX_DEPTH` (the standard parser would raise RecursionError, and
  storing or rendering such a value would recurse again);
- `NaN`, `Infinity`, floats that overflow (`1e400`) and integers beyond 64 bits (neither
  SQLite nor PostgreSQL stores them; JSON columns refuse the non-finite ones);
- lone surrogates (`"\\ud800"`): valid JSON escapes, but not text any database stores;
- bodies that are not UTF-8.

`loads` is the parser, also installed as the app's JSON provider (so `request.get_json()`
obeys the same rules); `parse(Model)` reads the current request's body and validates it
with a pydantic model, raising `InvalidBody` (answered 400 `{"error", "problems"}`).
`Text(n)` is the string field type for anything stored in a text column.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from pydantic import AfterValidator, BaseModel, StringConstraints, ValidationError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

MAX_DEPTH = 32  # every body the portal accepts is under 6 levels deep
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1  # what a BIGINT column and SQLite hold
_SURROGATE = re.compile("[\ud800-\udfff]")

M = TypeVar("M", bound=BaseModel)


@dataclass
class Problem:
    """One reason a body was refused: the field (a path such as `samples[0].score`, ""
    for the whole body) and what is wrong with it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class BodyError(ValueError):
    """The body is not JSON the portal accepts; the message (starting "The body") says why."""


class InvalidBody(BadRequest):
    """A 400 with the list of problems; the app answers `{"error", "problems"}`."""

    def __init__(self, message: str, problems: list[Problem]):
        super().__init__(description=message)
        self.problems = problems


# ---- parsing ------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise BodyError(f"The body contains {name}, which is not a number JSON allows.")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BodyError(f"The body contains a number out of range ({text[:20]}).")
    return value


def _bounded_int(text: str) -> int:
    # Checked on the text first: int() of a 100,000-digit number is slow, then refused.
    if len(text.lstrip("-")) > 19 or not INT_MIN <= int(text) <= INT_MAX:
        raise BodyError(f"The body contains an integer out of range ({text[:20]}"
                        f"{'...' if len(text) > 20 else ''}); integers must fit in 64 bits.")
    return int(text)


def loads(data: bytes | str) -> Any:
    """The JSON value of `data`, if the portal accepts it (see the module docstring).

    Raises BodyError (a ValueError) whose message says what is wrong and where."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("The body is not UTF-8.") from None
    try:
        value = json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float,
                           parse_int=_bounded_int)
    except RecursionError:
        raise BodyError(f"The body is nested too deeply (at most {MAX_DEPTH} levels).") from None
    except BodyError:
        raise
    except ValueError as error:  # JSONDecodeError is a ValueError
        raise BodyError(f"The body is not valid JSON (send a JSON object): {error}") from None
    _check_tree(value)
    return value


def _check_tree(value: Any) -> None:
    """Depth and lone surrogates, without recursion (the value may be deep)."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                where = f" in {path}" if path else ""
                raise BodyError("The body contains an invalid Unicode escape (a lone surrogate "
                                f"such as \\ud800){where}.")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise BodyError(f"The body is nested too deeply (at most {MAX_DEPTH} levels).")
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                stack.append((key, depth, path))
                stack.append((child, depth + 1, child_path))
        else:
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))


# ---- the current request ------------------------------------------------------------

# pydantic's error types, said as "<field> must ..." (the field is named before it)
_MESSAGES = {
    "missing": "is required", "model_type": "must be an object", "dict_type": "must be an object",
    "model_attributes_type": "must be an object", "list_type": "must be a list",
    "string_type": "must be a string", "bool_type": "must be true or false",
    "bool_parsing": "must be true or false", "float_type": "must be a number",
    "float_parsing": "must be a number", "int_type": "must be an integer",
    "int_parsing": "must be an integer", "extra_forbidden": "is not a known field",
}


def _path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(item: dict[str, Any]) -> str:
    if item["type"] in _MESSAGES:
        return _MESSAGES[item["type"]]
    message = item["msg"].removeprefix("Value error, ")
    if message.startswith("Input should"):
        message = "must" + message[len("Input should"):]
    elif message.startswith(("String should", "List should")):
        message = "must" + message.split(" should", 1)[1]
    return message


def problems_of(error: ValidationError) -> list[Problem]:
    """pydantic's errors as Problems: the field as a path (`samples[0].score`) and what
    it must be (`must be a number`)."""
    return [Problem(_path(item["loc"]), _message(item))
            for item in error.errors(include_url=False)]


def describe(problems: list[Problem]) -> str:
    """The problems as one sentence for a person: `samples[0].score must be a number.`"""
    def said(p: Problem) -> str:
        if p.field:
            return f"{p.field} {p.message}"
        return f"the body {p.message}" if p.message.startswith(("must ", "is ")) else p.message

    text = "; ".join(said(p) for p in problems)
    if text.startswith("the body"):
        text = "T" + text[1:]
    return text if text.endswith(".") else text + "."


def parse(model: type[M], *, optional: bool = False) -> M:
    """The current request's JSON body, validated by `model`.

    `optional`: an empty body stands for `{}`. Raises UnsupportedMediaType (415) for a
    body that is not declared JSON, InvalidBody (400, with the problems) for one that
    is not acceptable JSON or does not fit the model."""
    data = request.get_data(cache=True)
    if optional and not data.strip():
        value: Any = {}
    else:
        if not request.is_json:
            given = f"not {request.mimetype}" if request.mimetype else "none was given"
            raise UnsupportedMediaType(
                f"Send the body as JSON (Content-Type: application/json; {given}).")
        try:
            value = loads(data)
        except BodyError as error:
            raise InvalidBody(str(error), [Problem("", str(error))]) from None
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problems = problems_of(error)
        raise InvalidBody(describe(problems), problems) from None


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")  # PostgreSQL text cannot
    return value


def Text(max_length: int) -> Any:  # noqa: N802 (used like a type: `name: Text(128)`)
    """A string stored in a text column of `max_length` characters: longer strings and
    NUL characters are refused (PostgreSQL refuses both)."""
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_no_nul)]


# ---- installing it in the app --------------------------------------------------------

class JSONProvider(DefaultJSONProvider):
    """Flask's provider, parsing with `loads` (request bodies, and the signed session
    cookie, which holds nothing it refuses). Calls with parser options keep the
    standard parser: they come from code, not from a request."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return loads(s)


class PortalRequest(Request):
    """`get_json()` failures answered with the reason, not a bare 400."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            raise UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).")
        raise InvalidBody(str(e), [Problem("", str(e))])


def register(app: Flask) -> None:
    """Install the parser (provider, request class) and the 400 answer of InvalidBody."""
    from portal.errors import error_response

    app.json = JSONProvider(app)
    app.request_class = PortalRequest

    @app.errorhandler(InvalidBody)
    def invalid_body(error: InvalidBody):
        return error_response(400, error.description,
                              problems=[p.as_dict() for p in error.problems])
