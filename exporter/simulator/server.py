"""The simulated UCloud API gateway: HTTP/1.1 with keep-alive on a loopback port."""

from __future__ import annotations

import contextlib
import random
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http import HTTPStatus
from types import TracebackType
from typing import cast

from exporter.simulator.faults import Fault, FaultBook
from exporter.simulator.gateway import IMAGE_ACTIONS, Response, authenticate, dispatch, error
from exporter.simulator.handler import GatewayServer, Reply, json_reply
from exporter.simulator.model import Account, Fleet, Quirks
from exporter.simulator.projects import PROJECT_ACTIONS
from exporter.simulator.sts import STS, STS_ACTIONS
from exporter.simulator.uhub import UHUB_ACTIONS

__all__ = ["Simulator"]


#: The audit event ``Simulator.start`` raises (``sys.audit``): tests count the simulators
#: they start (tests/support/e2e.py).
SIMULATOR_STARTED = "exporter.simulator.start"


class Simulator:
    """A UCloud API gateway simulator serving ``fleet`` from a daemon thread."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        limit_clamp: int | None = None,
        drift: bool = False,
        seed: int = 0,
        sts: STS | None = None,
    ) -> None:
        """Bind the listening socket now (so ``url`` is known); serve after start().

        ``sts`` issues and checks temporary keys (AssumeRole, the metadata service at
        ``/meta-data/``); by default one without roles."""
        self.fleet = fleet
        self.sts = sts or STS(fleet)
        self.latency = latency
        self.limit_clamp = limit_clamp
        self.drift = drift
        self.max_in_flight = 0
        self.connection_count = 0
        self._rng = random.Random(seed)
        self._faults = FaultBook()
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str | None, str | None]] = Counter()
        self._in_flight = 0
        self._connections: set[socket.socket] = set()
        self._buckets: dict[str, tuple[float, float]] = {}  # throttle: (tokens, when)
        self.throttled = 0  # requests answered RetCode 153 by an account's throttle
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._server = GatewayServer((host, port), self)

    @property
    def url(self) -> str:
        """Return the base URL, e.g. ``http://127.0.0.1:PORT/``."""
        host, port = cast(tuple[str, int], self._server.server_address[:2])
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def start(self) -> Simulator:
        """Serve in a daemon thread; return self."""
        sys.audit(SIMULATOR_STARTED, self.url)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="ucloud-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and the socket, join the thread."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            connections = list(self._connections)
        if self._thread is not None:
            self._shutdown_server()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _shutdown_server(self) -> None:
        """Stop serve_forever promptly by waking its poll with a throwaway connection."""
        waiter = threading.Thread(target=self._server.shutdown, name="ucloud-simulator-stop")
        waiter.start()
        address = cast(tuple[str, int], self._server.server_address[:2])
        while waiter.is_alive():
            with contextlib.suppress(OSError), socket.create_connection(address, timeout=1):
                pass
            waiter.join(timeout=0.01)

    def __enter__(self) -> Simulator:
        """Start serving."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()

    def add_fault(
        self,
        fault: Fault,
        *,
        account: str | None = None,
        region: str | None = None,
        action: str | None = None,
    ) -> None:
        """Inject ``fault`` for requests matching public key, region and action (None = any)."""
        self._faults.add(fault, account=account, region=region, action=action)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    def request_count(self, *, action: str | None = None, region: str | None = None) -> int:
        """Count parsed requests, optionally only those for ``action`` and/or ``region``."""
        with self._lock:
            return sum(
                n
                for (act, reg), n in self._counts.items()
                if (action is None or act == action) and (region is None or reg == region)
            )

    def reset_counts(self) -> None:
        """Zero the request counts, ``max_in_flight`` and ``connection_count``."""
        with self._lock:
            self._counts.clear()
            self.max_in_flight = self._in_flight
            self.connection_count = 0

    def answer(self, params: dict[str, str]) -> Reply:
        """Answer one request no sooner than ``latency`` seconds after it arrived.

        The answer is built within that time, as a stand-in gateway with a fixed round trip
        would: the simulator's own CPU (signature check, JSON) and a fault's delay longer than
        the latency decide alone when it leaves, never on top of the latency. The simulator
        shares the machine with the exporter it serves, so adding its CPU to every round
        trip would be measured as the exporter's distance from the bound.
        """
        due = time.monotonic() + self.latency
        reply = self._answer(params)
        left = due - time.monotonic()
        if left > 0:
            time.sleep(left)
        return reply

    def _answer(self, params: dict[str, str]) -> Reply:
        """Count, authenticate, apply any fault and build the reply to one request."""
        action, region, key = params.get("Action"), params.get("Region"), params.get("PublicKey")
        if action in UHUB_ACTIONS or action in PROJECT_ACTIONS:
            region = None  # cross-region: a stray Region neither counts nor matches faults
        with self._lock:
            self._counts[(action, region)] += 1
        translated = self.sts.translate(params)  # a temporary key: the owner's request
        if "RetCode" in translated:
            return json_reply(translated)
        params, key = translated, translated.get("PublicKey")
        auth = authenticate(self.fleet, params)
        if not isinstance(auth, Account):
            fault = self._faults.peek(key, region, action)
            if fault is not None and fault.delay > 0:
                time.sleep(fault.delay)
            return json_reply(auth)
        project = params.get("ProjectId")
        delay = self.fleet.quirks(auth.public_key, region or "", project=project).delay_seconds
        if action in IMAGE_ACTIONS:
            quirks = self.fleet.action_quirks(
                auth.public_key, action, region or "", project=project
            )
            delay = quirks.delay_seconds
        if delay and action in ("GetImageBucketList", *IMAGE_ACTIONS):
            time.sleep(delay)
        if not self._admit(auth):
            return json_reply(error(action or "", 153, "request too frequent"))
        fault = self._faults.take(key, region, action)
        if fault is None:
            return json_reply(self._dispatch(auth, params))
        return self._faulty(fault, auth, params)

    def _admit(self, account: Account) -> bool:
        """Take a token from the account's throttle bucket; False when it is empty."""
        if account.throttle is None:
            return True
        rate, burst = account.throttle
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(account.public_key, (burst, now))
            tokens = min(burst, tokens + (now - then) * rate)
            admitted = tokens >= 1
            self._buckets[account.public_key] = (tokens - 1 if admitted else tokens, now)
            self.throttled += 0 if admitted else 1
        return admitted

    def _dispatch(
        self, account: Account, params: dict[str, str], quirks: Quirks | None = None
    ) -> Response:
        """Answer an authenticated request normally (or with ``quirks``)."""
        rng = self._rng if self.drift else None
        if params["Action"] in STS_ACTIONS:
            return self.sts.assume_role(params)
        return dispatch(
            self.fleet, account, params, limit_clamp=self.limit_clamp, drift_rng=rng, quirks=quirks
        )

    def _faulty(self, fault: Fault, account: Account, params: dict[str, str]) -> Reply:
        """Answer an authenticated request the way ``fault`` says."""
        if fault.delay > 0:
            time.sleep(fault.delay)
        if fault.close_connection:
            return Reply(drop=True)
        action = params["Action"]
        if fault.http_status is not None:
            return self._status_reply(fault, action)
        if fault.body is not None:
            return Reply(body=fault.body)
        if fault.retcode is not None:
            return json_reply(error(action, fault.retcode, fault.message))
        if fault.quirks is not None and fault.quirks.delay_seconds > 0:
            time.sleep(fault.quirks.delay_seconds)
        response = self._dispatch(account, params, fault.quirks)
        if fault.mutate is not None and response.get("RetCode") == 0:
            response = fault.mutate(response)
        return json_reply(response)

    @staticmethod
    def _status_reply(fault: Fault, action: str) -> Reply:
        """Build the reply for an HTTP-status fault."""
        status = cast(int, fault.http_status)
        if fault.body is not None:
            return Reply(status, fault.body)
        if fault.retcode is not None:
            return json_reply(error(action, fault.retcode, fault.message), status=status)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Reply(status, f"{status} {phrase}\n".encode(), "text/plain; charset=utf-8")

    def metadata(self, path: str, headers: dict[str, str]) -> Reply:
        """Answer the instance metadata service's STS paths (``STS.metadata``)."""
        status, body = self.sts.metadata(path, headers)
        if body is None:
            return Reply(status, b"404 Not Found\n", "text/plain; charset=utf-8")
        return json_reply(body, status=status)

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """Track how many requests are being handled at once."""
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def opened(self, conn: socket.socket) -> None:
        """Remember a new connection (or refuse it after stop())."""
        with self._lock:
            self.connection_count += 1
            self._connections.add(conn)
            stopped = self._stopped
        if stopped:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def closed(self, conn: socket.socket) -> None:
        """Forget a finished connection."""
        with self._lock:
            self._connections.discard(conn)
