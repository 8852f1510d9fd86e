"""The socket.io server of contract 1.6: how the page hears of starts, stops and video calls.

python-socketio in ``threading`` mode (protocol 5, Engine.IO 4), websocket transport
only, any origin. It wraps the Flask app (``app.wsgi_app``), so one process serves
both, under gunicorn's threads and under werkzeug in the tests.

- connect: ``?token=<session token>`` (unknown or logged-out tokens are refused);
- ``join <name>`` / ``leave <name>``: only the socket's own user id, group and room id;
- ``p2p:*``: relayed to ``to`` (a socket id sharing a room, or a joined name) with
  ``from`` = the sender's socket id; ``webcall:broadcasts <room>`` replays the room's
  current ``p2p:broadcast`` offers to the asker;
- the server emits ``room:start``, ``room:stop``, ``sandbox:inject`` (sandbox-only) and
  a periodic ``heartbeat``.

Socket.io rooms are named ``<kind>:<name>`` (``user:``, ``group:``, ``room:``) so that a
user id can never double as somebody's room id.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import socketio
from flask import Flask

from . import timeutil
from .supervisor import objects
from .supervisor import sessions as svc

log = logging.getLogger("sandbox.realtime")

P2P_EVENTS = ("p2p:invoke", "p2p:broadcast", "p2p:offer", "p2p:ice", "p2p:answer", "p2p:dispose")


@dataclass
class Client:
    """One connected socket: whose it is and which rooms it joined."""
    token: str
    session_id: str
    names: dict[str, str]  # kind (user, group, room) -> the name the SDK uses
    joined: set[str] = field(default_factory=set)  # internal room names


class Realtime:
    """The app's socket.io server and what it knows about connected sockets."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.sio = socketio.Server(async_mode="threading", cors_allowed_origins="*",
                                   transports=["websocket"], logger=False, engineio_logger=False)
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._broadcasts: dict[str, dict[str, dict[str, Any]]] = {}  # room -> sid -> p2p:broadcast
        self._heartbeat: tuple[threading.Thread, threading.Event] | None = None
        self._register()

    # ---- what the rest of the sandbox tells the pages --------------------------------

    def room_started(self, row) -> None:
        """``room:start`` with the room, to its room and its user (every start and resume)."""
        room = objects.room_object(row, self.app.config["SANDBOX_PRECHECKS"])
        self.sio.emit("room:start", room, to=self._targets(row))

    def room_stopped(self, row) -> None:
        """``room:stop`` with the room (``proctor`` set for a proctor's end)."""
        payload = objects.stop_payload(row, self.app.config["SANDBOX_PRECHECKS"])
        self.sio.emit("room:stop", payload, to=self._targets(row))

    def injected_changed(self, row) -> None:
        """Sandbox-only ``sandbox:inject {id, injected}`` to the room."""
        room = objects.room_object(row, self.app.config["SANDBOX_PRECHECKS"])
        self.sio.emit("sandbox:inject", {"id": room["id"], "injected": room["injected"]},
                      to=f"room:{row['identifier']}")

    def live_sessions(self) -> set[str]:
        """Ids of the sessions with a connected socket (they are not inactive)."""
        with self._lock:
            return {c.session_id for c in self._clients.values()}

    def logged_out(self, token: str) -> None:
        """Disconnect the sockets of a session token that has just been logged out."""
        with self._lock:
            sids = [sid for sid, c in self._clients.items() if c.token == token]
        for sid in sids:
            self.sio.disconnect(sid)

    def stop(self) -> None:
        """Stop the heartbeat task and wait for it (tests, shutdown)."""
        with self._lock:
            entry, self._heartbeat = self._heartbeat, None
        if entry:
            thread, stopping = entry
            stopping.set()
            thread.join(timeout=5)

    @staticmethod
    def _targets(row) -> list[str]:
        # The room for tabs that joined it, the user for a tab that has not joined yet.
        return [f"room:{row['identifier']}", f"user:{row['username']}"]

    # ---- socket handlers -------------------------------------------------------------

    def _register(self) -> None:
        sio = self.sio
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        sio.on("join", self._join)
        sio.on("leave", self._leave)
        sio.on("webcall:broadcasts", self._webcall_broadcasts)
        for event in P2P_EVENTS:
            sio.on(event, self._relay_handler(event))

    def _store(self):
        return self.app.extensions["sandbox_store"]

    def _connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [""])[0]
        try:
            row = svc.by_access(self._store(), token)
        except svc.SessionError as exc:
            log.warning("socket refused: %s", exc)
            raise socketio.exceptions.ConnectionRefusedError(str(exc)) from None
        group = objects.user_object(row)["group"]
        names = {"user": row["username"], "room": row["identifier"]}
        if group:
            names["group"] = group
        with self._lock:
            self._clients[sid] = Client(token=token, session_id=row["id"], names=names)
        svc.touch(self._store(), row["id"])
        self._ensure_heartbeat()

    def _disconnect(self, sid: str, reason: Any = None) -> None:
        with self._lock:
            client = self._clients.pop(sid, None)
            for offers in self._broadcasts.values():
                offers.pop(sid, None)
        if client:
            # The inactivity timeout counts from the moment the last socket went away.
            svc.touch(self._store(), client.session_id)

    def _rooms_named(self, client: Client, name: Any) -> list[str]:
        return [f"{kind}:{name}" for kind, own in client.names.items() if own == name]

    def _join(self, sid: str, name: Any = None, *_: Any) -> dict[str, Any]:
        with self._lock:
            client = self._clients.get(sid)
            rooms = self._rooms_named(client, name) if client else []
            if client:
                client.joined.update(rooms)
        if not rooms:
            log.warning("socket %s may not join %r", sid, name)
            return {"ok": False, "error": f"not allowed to join {name!r}"}
        for room in rooms:
            self.sio.enter_room(sid, room)
        return {"ok": True}

    def _leave(self, sid: str, name: Any = None, *_: Any) -> dict[str, Any]:
        with self._lock:
            client = self._clients.get(sid)
            rooms = [r for r in self._rooms_named(client, name) if r in client.joined] if client else []
            for room in rooms:
                client.joined.discard(room)
                self._broadcasts.get(room, {}).pop(sid, None)
        for room in rooms:
            self.sio.leave_room(sid, room)
        return {"ok": bool(rooms)}

    def _relay_handler(self, event: str):
        def relay(sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
            return self._relay(event, sid, data)
        return relay

    def _relay(self, event: str, sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("to"), str):
            return {"ok": False, "error": f"{event} needs an object with a 'to'"}
        target = data["to"]
        with self._lock:
            sender = self._clients.get(sid)
            peer = self._clients.get(target)
            if sender is None:
                return {"ok": False, "error": "unknown socket"}
            # A socket id is reachable when it shares a room; a name, when the sender joined it.
            to_peer = peer is not None and bool(sender.joined & peer.joined)
            rooms = [] if peer is not None else [
                r for r in self._rooms_named(sender, target) if r in sender.joined]
            if event == "p2p:broadcast":
                for room in rooms:
                    self._broadcasts.setdefault(room, {})[sid] = data
        message = {**data, "from": sid}
        if to_peer:
            self.sio.emit(event, message, to=target)
        elif rooms:
            self.sio.emit(event, message, to=rooms, skip_sid=sid)
        else:
            return {"ok": False, "error": f"no joined room or peer socket {target!r}"}
        return {"ok": True}

    def _webcall_broadcasts(self, sid: str, name: Any = None, *_: Any) -> dict[str, Any]:
        """Replay the room's current ``p2p:broadcast`` offers to the asker, as if just sent."""
        with self._lock:
            client = self._clients.get(sid)
            rooms = [r for r in self._rooms_named(client, name) if r in client.joined] if client else []
            offers = [(other, data) for room in rooms
                      for other, data in self._broadcasts.get(room, {}).items() if other != sid]
        for other, data in offers:
            self.sio.emit("p2p:broadcast", {**data, "from": other}, to=sid)
        return {"ok": bool(rooms), "broadcasts": len(offers)}

    # ---- heartbeat -------------------------------------------------------------------

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat is not None:
                return
            stopping = threading.Event()
            thread = threading.Thread(target=self._beat, args=(stopping,), name="sandbox-heartbeat",
                                      daemon=True)
            self._heartbeat = (thread, stopping)
        thread.start()

    def _beat(self, stopping: threading.Event) -> None:
        period = self.app.config["SANDBOX_HEARTBEAT_PERIOD"]
        while not stopping.wait(period):
            try:
                self.sio.emit("heartbeat", {"time": timeutil.iso(timeutil.now())})
            except Exception:  # noqa: BLE001 - one failed send must not end the heartbeat
                log.exception("heartbeat failed")


def init_app(app: Flask) -> Realtime:
    """Create the app's socket.io server and put it in front of the Flask app."""
    realtime = Realtime(app)
    app.extensions["sandbox_realtime"] = realtime
    app.extensions["socketio"] = realtime.sio
    app.wsgi_app = socketio.WSGIApp(realtime.sio, app.wsgi_app)
    return realtime


def realtime_of(app: Flask) -> Realtime:
    """The app's Realtime (created by ``create_app``)."""
    return app.extensions["sandbox_realtime"]


def check_sessions(app: Flask) -> None:
    """Apply deadlines and timeouts and tell each ended session's page (any thread)."""
    realtime = realtime_of(app)
    for row in svc.check_sessions(app.extensions["sandbox_store"], live=realtime.live_sessions()):
        realtime.room_stopped(row)
