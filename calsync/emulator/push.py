"""Push notifications: the `sync` handshake after watch, `exists` after every change.

One worker thread delivers them in order, off the request thread, so (as with Google) the
handshake may reach the receiver before the watch call has returned. Each delivery is
recorded with the receiver's status; failures are not retried (Google retries with backoff).
"""

from __future__ import annotations

import threading
from email.utils import formatdate

import requests

from calsync.emulator.common import Courier
from calsync.emulator.state import DeliveredPush, State, WatchChannel

TIMEOUT = 5.0


class Notifier:
    def __init__(self, state: State, *, verify_tls: bool = True) -> None:
        self.state = state
        self.verify_tls = verify_tls
        self.sent: list[DeliveredPush] = []
        self.delivered = threading.Condition()
        self._courier: Courier[tuple[str, dict[str, str]]] = Courier("google-emulator-push",
                                                                     self._deliver)
        self._session = requests.Session()
        self._session.trust_env = False  # loopback receivers must not go through a proxy
        state.listeners.append(self.calendar_changed)

    def start(self) -> None:
        self._courier.start()

    def stop(self) -> None:
        self._courier.stop(timeout=TIMEOUT + 1)
        self._session.close()

    def send(self, channel: WatchChannel, resource_state: str) -> None:
        """Queue one notification for `channel` (caller holds the state lock)."""
        channel.message_number += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": formatdate(channel.expiration_ms / 1000, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": resource_state,
            "X-Goog-Message-Number": str(channel.message_number),
        }
        if channel.token:
            headers["X-Goog-Channel-Token"] = channel.token
        self._courier.put((channel.address, headers))

    def calendar_changed(self, calendar_id: str) -> None:
        for channel in self.state.channels.values():
            if channel.calendar_id == calendar_id and channel.live():
                self.send(channel, "exists")

    def _deliver(self, job: tuple[str, dict[str, str]]) -> None:
        address, headers = job
        status: int | None = None
        error = ""
        try:
            response = self._session.post(address, headers=headers, data=b"",
                                          timeout=TIMEOUT, verify=self.verify_tls,
                                          allow_redirects=False)
            status = response.status_code
        except requests.RequestException as exc:
            error = str(exc)
        record = DeliveredPush(headers["X-Goog-Channel-ID"], headers["X-Goog-Resource-State"],
                               int(headers["X-Goog-Message-Number"]), address, headers,
                               status, error)
        with self.delivered:
            self.sent.append(record)
            self.delivered.notify_all()

    def wait(self, count: int, timeout: float) -> list[DeliveredPush]:
        """Block until at least `count` notifications were delivered (or `timeout` passes)."""
        with self.delivered:
            self.delivered.wait_for(lambda: len(self.sent) >= count, timeout=timeout)
            return list(self.sent)
