"""Push notifications: the `sync` handshake after watch, `exists` after every change.

One worker thread delivers them in order, off the request thread, so (as with Google) the
handshake may reach the receiver before the watch call has returned. Each delivery is
recorded with the receiver's status; failures are not retried (Google retries with backoff).
"""

from __future__ import annotations

from email.utils import formatdate

import requests

from calsync.emulator.common import WebhookSender
from calsync.emulator.state import DeliveredPush, State, WatchChannel

TIMEOUT = 5.0


class Notifier(WebhookSender[tuple[str, dict[str, str]], DeliveredPush]):
    def __init__(self, state: State, *, verify_tls: bool = True) -> None:
        super().__init__("google-emulator-push", TIMEOUT)
        self.state = state
        self.verify_tls = verify_tls
        state.listeners.append(self.calendar_changed)

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
        self._record(DeliveredPush(headers["X-Goog-Channel-ID"],
                                   headers["X-Goog-Resource-State"],
                                   int(headers["X-Goog-Message-Number"]), address, headers,
                                   status, error))
