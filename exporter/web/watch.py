"""The web configuration in force, re-read when its files change, on SIGHUP and /-/reload.

The listener keeps one "front" SSLContext for its whole life. Its ``sni_callback`` (called for
every ClientHello, with or without SNI) hands each new handshake the context of the current
configuration, so a rotated certificate, key or client CA takes effect for the next connection
without a restart. OpenSSL copies the verify mode and protocol versions when a connection
starts, so those are also set on the front context. Turning TLS on or off needs a restart.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from pathlib import Path

from exporter.config import ConfigError
from exporter.web.auth import BasicAuth
from exporter.web.webconfig import TLS_VERSIONS, WebSecurity, load

log = logging.getLogger(__name__)
WATCH_INTERVAL = 2.0  # seconds between checks of the web config and its files
Fingerprint = tuple[tuple[int, int, int] | None, ...]


def _fingerprint(paths: list[Path]) -> Fingerprint:
    """Return (mtime, size, inode) of each path, None where it cannot be read."""
    out: list[tuple[int, int, int] | None] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


class LiveWebConfig:
    """Hold the current WebSecurity and its BasicAuth; swap both when a valid new file comes."""

    def __init__(self, path: str, security: WebSecurity | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._security = security
        self._auth = BasicAuth.for_users(security.users) if security and security.users else None
        self._front = security.tls.context if security and security.tls else None
        if self._front is not None:
            self._front.sni_callback = self._choose
        self._seen = self._fingerprint()
        self._stop = threading.Event()

    @property
    def auth(self) -> BasicAuth | None:
        """Return the basic-auth checker in force, or None when no users are configured."""
        return self._auth

    @property
    def security(self) -> WebSecurity | None:
        """Return the web configuration in force (swapped whole by a valid reload)."""
        return self._security

    @property
    def tls_context(self) -> ssl.SSLContext | None:
        """Return the listener's front SSLContext, or None without TLS."""
        return self._front

    def _choose(
        self, conn: ssl.SSLObject | ssl.SSLSocket, _name: str | None, _ctx: ssl.SSLContext
    ) -> None:
        security = self._security
        if (
            security is not None
            and security.tls is not None
            and security.tls.context is not self._front
        ):
            conn.context = security.tls.context

    def _fingerprint(self) -> Fingerprint:
        files = list(self._security.files) if self._security else []
        return _fingerprint([Path(self._path), *files]) if self._path else ()

    def reload(self) -> bool:
        """Re-read the file; keep the running configuration (and log why) if it is invalid."""
        if not self._path:
            return True
        with self._lock:
            self._seen = self._fingerprint()
            try:
                new = load(self._path)
            except ConfigError as exc:
                for problem in exc.problems:
                    log.error("web config reload rejected, keeping the running one: %s", problem)
                return False
            if (new.tls is None) != (self._front is None):
                log.error(
                    "web config reload rejected, keeping the running one: %s: turning "
                    "TLS on or off needs a restart",
                    self._path,
                )
                return False
            if new.tls is not None and self._front is not None:
                self._front.verify_mode = new.tls.context.verify_mode
                self._front.minimum_version = TLS_VERSIONS[new.tls.min_version]
                self._front.maximum_version = new.tls.context.maximum_version
                if new.tls.prefer_server_ciphers:
                    self._front.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
                else:
                    self._front.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
                if new.tls.curve is not None:
                    self._front.set_ecdh_curve(new.tls.curve)
            self._auth = BasicAuth.for_users(new.users) if new.users else None
            self._security = new
            self._seen = self._fingerprint()
        for warning in new.warnings:
            log.warning("%s", warning)
        log.info("web configuration reloaded", extra={"web": new.describe()})
        return True

    def watch(self, interval: float = WATCH_INTERVAL) -> None:
        """Start a daemon thread that reloads when the file or a file it names changes."""
        if self._path:
            threading.Thread(
                target=self._watch, args=(interval,), name="web-config-watch", daemon=True
            ).start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if self._fingerprint() != self._seen:
                self.reload()

    def close(self) -> None:
        """Stop watching."""
        self._stop.set()
