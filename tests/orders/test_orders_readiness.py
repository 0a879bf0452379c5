"""/readyz and the order database: 503 with the reason while PostgreSQL cannot be reached, ready again after."""

from __future__ import annotations

import socket
import threading

import sqlalchemy as sa

from order_support import free_port, order_settings, start_live_app
import requests


class TcpRelay:
    """A real TCP relay in front of PostgreSQL that can be cut and restored, standing in for a database outage."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> "TcpRelay":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """The database is gone: no new connections, open ones reset."""
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), so the port really closes
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self._connections.clear()


def test_readyz_follows_the_order_database(postgres, tmp_path):
    database = sa.engine.make_url(postgres.new_database())
    relay = TcpRelay((database.host or "127.0.0.1", database.port or 5432)).start()
    port = free_port()
    settings = order_settings(instance=tmp_path / "instance", port=port, simulator=None, smtp=None, worker=False,
                              db_url=database.set(port=relay.port).render_as_string(hide_password=False))
    live = start_live_app(settings, port)
    try:
        ready = requests.get(live.url("/readyz"), timeout=10)
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "problems": []}

        relay.cut()
        down = requests.get(live.url("/readyz"), timeout=20)
        assert down.status_code == 503
        assert down.headers["Content-Type"].startswith("application/json")
        assert [p for p in down.json()["problems"] if p.startswith("order database does not answer")], down.json()
        # liveness is not readiness: the process still answers
        assert requests.get(live.url("/healthz"), timeout=10).status_code == 200

        relay.start()
        again = requests.get(live.url("/readyz"), timeout=20)
        assert again.status_code == 200, again.json()
    finally:
        relay.cut()
        live.stop()
