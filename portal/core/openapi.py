"""What the OpenAPI document (portal/api/openapi.py) says of one JSON endpoint, in a
module every layer may use: the portal's packages and the vendors' providers each
describe their own endpoints (`Provider.api_operations`)."""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

# Who may call: a logged-in student (session cookie, and the CSRF token on writes), anyone,
# or the name of a security scheme its provider declares (`Provider.api_security_schemes`).
STUDENT, PUBLIC = "student", "public"


class Answer(BaseModel):
    """A JSON answer: only the fields a client relies on are listed; answers may carry
    more (`extra="allow"`), so a new field never makes the document wrong."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Operation:
    """One JSON endpoint as the document describes it."""

    endpoint: str                      # Flask endpoint name: path and method from the URL map
    summary: str
    tag: str
    security: str                      # STUDENT | PUBLIC | a security scheme's name
    answer: type[BaseModel]
    refusals: tuple[int, ...]
    body: type[BaseModel] | None = None
    body_optional: bool = False
    forms: bool = False                # also multipart/form-data and urlencoded bodies
