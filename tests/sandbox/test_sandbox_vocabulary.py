"""The sandbox keeps its own copy of the contract's vocabulary (the two apps never import
each other); what it sends over HTTP must be the portal's (portal/proctoring/vocabulary.py)."""
from __future__ import annotations

from portal.proctoring import vocabulary


def test_the_sandbox_room_sends_the_portals_metric_codes(open_session):
    room = open_session().fetch().get_json()
    assert room["metrics"] == list(vocabulary.METRIC_CODES)


def test_the_sandbox_console_lists_the_portals_metric_codes(client):
    assert client.post("/login", data={"username": "proctor", "password": "sandbox"}).status_code == 302
    assert client.get("/console/api/metrics").get_json() == list(vocabulary.METRIC_CODES)
