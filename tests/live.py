"""Serve a WSGI app for real on a free loopback port, in a daemon thread."""
from __future__ import annotations

import threading
from typing import Callable

from werkzeug.serving import make_server


def serve(app, name: str = "live") -> tuple[str, Callable[[], None]]:
    """Start `app` on 127.0.0.1:<free port>; return (base_url, shutdown)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()

    def shutdown() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", shutdown
