"""The whole wire protocol of contract 1.6 against a live sandbox, with a real socket.io
client over the websocket transport: what the vendor's own SDK would see."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import socketio

from tests.support.sandbox import CONSOLE, JWT_SECRET, Receiver, bearer, make_token
from tests.support.live import serve_sandbox

PORTAL = "http://portal.test"


@pytest.fixture
def live():
    """(base_url, app) of a sandbox served for real; its sockets are closed afterwards."""
    base, app, shutdown = serve_sandbox({"SANDBOX_JWT_SECRET": JWT_SECRET, "SANDBOX_HEARTBEAT_PERIOD": 0.3,
                                         "SANDBOX_METRICS_PERIOD": 0.5})
    clients: list[socketio.SimpleClient] = []
    yield base, app, clients
    for client in clients:
        client.disconnect()
    shutdown()


def _auth(base: str, **claims: Any) -> str:
    response = requests.post(f"{base}/api/auth/jwt", headers=bearer(make_token(**claims)), timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _connect(base: str, clients: list, token: str) -> socketio.SimpleClient:
    client = socketio.SimpleClient()
    # The exam page is on another origin; the browser sends it with the websocket handshake.
    client.connect(f"{base}/?token={token}", transports=["websocket"], headers={"Origin": PORTAL})
    clients.append(client)
    return client


def _wait_for(client: socketio.SimpleClient, name: str, within: float = 3.0) -> Any:
    """The data of the next ``name`` event (others, e.g. heartbeats, are skipped)."""
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {name} within {within} s")
        try:
            event, *args = client.receive(timeout=left)
        except socketio.exceptions.TimeoutError:
            continue
        if event == name:
            return args[0] if args else None


def _events(client: socketio.SimpleClient, within: float) -> list[str]:
    """The names of every event that arrives within ``within`` seconds."""
    names = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            names.append(client.receive(timeout=left)[0])
        except socketio.exceptions.TimeoutError:
            break
    return names


def _iso(delta_seconds: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=delta_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_the_whole_sequence_of_contract_1_6(live):
    base, _, clients = live
    receiver = Receiver()
    try:
        # init: the portal's JWT for a session token, then the user, the room, the config
        token = _auth(base, referrer=f"{PORTAL}/attempts/7", group="classA", api=receiver.url)
        headers = bearer(token)
        me = requests.get(f"{base}/api/auth", headers=headers, timeout=5).json()
        assert me["token"] == token and me["id"] == "student-1"
        user = requests.get(f"{base}/api/user/me", headers=headers, timeout=5).json()
        assert (user["id"], user["group"], user["referer"]) == ("student-1", "classA", f"{PORTAL}/attempts/7")
        room = requests.get(f"{base}/api/room/fetch", headers=headers, timeout=5).json()
        assert room["id"] == "Attempt0001" and room["startedAt"] is None
        config = requests.get(f"{base}/api/config/sdk", headers=headers, timeout=5).json()
        assert config["tracker"]["period"] == 0.5 and config["p2p"]["iceServers"] == []
        # the socket, and the joins the SDK makes on connect
        socket = _connect(base, clients, token)
        assert socket.call("join", user["id"]) == {"ok": True}
        assert socket.call("join", user["group"]) == {"ok": True}
        # start: the answer is the room; room:start carries the same updatedAt
        started = requests.post(f"{base}/api/room/start?id={room['id']}", headers=headers, timeout=5)
        assert started.status_code == 200
        event = _wait_for(socket, "room:start")
        assert event["id"] == room["id"] and event["updatedAt"] == started.json()["updatedAt"]
        assert event["status"] == "started"
        history = requests.get(f"{base}/api/chat/{room['id']}?filter[type]=message&limit=20&skip=0",
                               headers=headers, timeout=5)
        assert history.status_code == 200 and history.json() == []
        assert socket.call("join", room["id"]) == {"ok": True}
        assert socket.call("webcall:broadcasts", room["id"]) == {"ok": True, "broadcasts": 0}
        # metrics: the periodic chat event is a sample
        body = {"type": "event", "metadata": {"metrics": {"c2": 40}, "peak": "c2", "threshold": 50,
                                              "violated": False}}
        posted = requests.post(f"{base}/api/chat/{room['id']}", json=body, headers=headers, timeout=5)
        assert posted.status_code == 200 and posted.json()["type"] == "event"
        # the console's proctor ends it: room:stop names the proctor
        assert requests.post(f"{base}/console/api/sessions/{room['id']}/stop", auth=CONSOLE,
                             timeout=5).status_code == 200
        stop = _wait_for(socket, "room:stop")
        assert stop["id"] == room["id"] and stop["proctor"] == "proctor"
        # the page's own stop() afterwards is harmless; logout ends the token and the socket
        stopped = requests.post(f"{base}/api/room/stop?id={room['id']}", headers=headers, timeout=5)
        assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
        assert requests.post(f"{base}/api/auth/logout", headers=headers, timeout=5).status_code == 200
        deadline = time.monotonic() + 3
        while socket.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not socket.connected
        assert requests.get(f"{base}/api/room/fetch", headers=headers, timeout=5).status_code == 401
        # the webhook of the proctor's end carries the chat event's sample
        deadline = time.monotonic() + 5
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        sent = receiver.requests[0]["json"]
        assert sent["status"] == "stopped" and sent["proctor"] == "proctor"
        assert sent["averages"]["c2"] == 40 and sent["score"] == 60
    finally:
        receiver.close()


def test_unknown_or_logged_out_session_tokens_cannot_connect(live):
    base, _, clients = live
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(base, clients, "not-a-session-token")
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(base, clients, make_token())  # the portal's JWT is not a session token
    token = _auth(base)
    requests.post(f"{base}/api/auth/logout", headers=bearer(token), timeout=5)
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(base, clients, token)


def test_joins_only_of_own_user_group_and_room(live):
    base, _, clients = live
    mine = _connect(base, clients, _auth(base, group="classA"))
    other_token = _auth(base, username="student-2", identifier="Attempt0002", group="classB")
    for name in ("student-2", "classB", "Attempt0002", "", None):
        assert mine.call("join", name)["ok"] is False
    requests.post(f"{base}/api/room/start?id=Attempt0002", headers=bearer(other_token), timeout=5)
    assert "room:start" not in _events(mine, 0.5)


def test_a_second_tab_start_reaches_the_first_with_a_newer_updated_at(live):
    base, _, clients = live
    first_token = _auth(base)
    first = _connect(base, clients, first_token)
    first.call("join", "Attempt0001")
    mine = requests.post(f"{base}/api/room/start?id=Attempt0001", headers=bearer(first_token), timeout=5).json()
    assert _wait_for(first, "room:start")["updatedAt"] == mine["updatedAt"]
    second_token = _auth(base)
    theirs = requests.post(f"{base}/api/room/start?id=Attempt0001", headers=bearer(second_token),
                           timeout=5).json()
    event = _wait_for(first, "room:start")
    assert event["updatedAt"] == theirs["updatedAt"] != mine["updatedAt"]


def test_deadline_ends_a_started_session_with_room_stop_without_proctor(live):
    base, _, clients = live
    token = _auth(base, deadline=_iso(1.0))
    socket = _connect(base, clients, token)
    socket.call("join", "Attempt0001")
    requests.post(f"{base}/api/room/start?id=Attempt0001", headers=bearer(token), timeout=5)
    stop = _wait_for(socket, "room:stop", within=4)
    assert stop["id"] == "Attempt0001" and "proctor" not in stop and stop["status"] == "stopped"


def test_a_connected_socket_is_activity_and_a_timeout_emits_room_stop(live):
    base, _, clients = live
    token = _auth(base, timeout=0.01)  # 0.6 s without activity
    socket = _connect(base, clients, token)
    requests.post(f"{base}/api/room/start?id=Attempt0001", headers=bearer(token), timeout=5)
    time.sleep(1.2)
    status = requests.get(f"{base}/api/room/fetch", headers=bearer(token), timeout=5).json()["status"]
    assert status == "started"
    # Another session of the same user watches (its socket does not keep this one alive).
    watcher = _connect(base, clients, _auth(base, identifier="Attempt0002"))
    watcher.call("join", "student-1")
    socket.disconnect()
    stop = _wait_for(watcher, "room:stop", within=4)
    assert stop["id"] == "Attempt0001" and "proctor" not in stop
    entry = requests.get(f"{base}/console/api/sessions/Attempt0001", auth=CONSOLE, timeout=5).json()
    assert entry["stoppedBy"] == "timeout"


def test_p2p_messages_are_relayed_with_from_and_broadcasts_replayed(live):
    base, _, clients = live
    tabs = [_connect(base, clients, _auth(base)) for _ in range(2)]
    for tab in tabs:
        tab.call("join", "Attempt0001")
    sender, peer = tabs
    offer = {"to": "Attempt0001", "rid": "Attempt0001", "uid": "student-1"}
    assert sender.call("p2p:broadcast", offer) == {"ok": True}
    assert _wait_for(peer, "p2p:broadcast") == {**offer, "from": sender.sid}
    assert peer.call("p2p:invoke", {"to": sender.sid, "rid": "Attempt0001", "uid": "x"}) == {"ok": True}
    assert _wait_for(sender, "p2p:invoke")["from"] == peer.sid
    for event in ("p2p:offer", "p2p:ice", "p2p:answer", "p2p:dispose"):
        sender.emit(event, {"to": peer.sid, "id": "call1"})
        assert _wait_for(peer, event) == {"to": peer.sid, "id": "call1", "from": sender.sid}
    # A tab that arrives later asks for the room's broadcasts and gets the sender's.
    late = _connect(base, clients, _auth(base))
    late.call("join", "Attempt0001")
    assert late.call("webcall:broadcasts", "Attempt0001") == {"ok": True, "broadcasts": 1}
    assert _wait_for(late, "p2p:broadcast")["from"] == sender.sid
    # Nobody relays to a socket that shares no room, nor to a room not joined.
    stranger = _connect(base, clients, _auth(base, username="student-2", identifier="Attempt0002"))
    assert stranger.call("p2p:invoke", {"to": sender.sid})["ok"] is False
    assert stranger.call("p2p:offer", {"to": "Attempt0001"})["ok"] is False
    assert stranger.call("p2p:offer", "not an object")["ok"] is False
    assert "p2p:invoke" not in _events(sender, 0.3)


def test_injected_values_reach_the_room_and_heartbeats_arrive(live):
    base, _, clients = live
    token = _auth(base)
    socket = _connect(base, clients, token)
    socket.call("join", "Attempt0001")
    assert _wait_for(socket, "heartbeat", within=2)["time"].endswith("Z")
    answer = requests.post(f"{base}/api/sandbox/violation?id=Attempt0001", json={"metric": "c3", "value": 70},
                           headers=bearer(token), timeout=5)
    assert answer.json() == {"injected": {"c3": 70}}
    assert _wait_for(socket, "sandbox:inject") == {"id": "Attempt0001", "injected": {"c3": 70}}
    requests.post(f"{base}/console/api/sessions/Attempt0001/violation", json={"clear": True}, auth=CONSOLE,
                  timeout=5)
    assert _wait_for(socket, "sandbox:inject") == {"id": "Attempt0001", "injected": {}}
