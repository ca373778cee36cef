"""Temporary keys of the accounts that have them: fetched at start, refreshed in the background.

The :class:`KeyBook` is the UCloud client's key provider (``UCloudClient.keys``): before each
request the client asks it for "the key to sign with now". An account with long-lived keys
gets its own key pair at once; one with ``instance_role`` and/or ``assume_role`` gets the
temporary key its refresh task keeps. That task runs on the engine's event loop:

- the first fetch starts with the engine (never while loading the configuration); a request
  arriving before it ended waits for it, within its deadline;
- the key is fetched again when 20 % of its lifetime is left (``REFRESH_LEFT``); a failed fetch
  is retried with backoff (1 s doubling, at most a tenth of the last key's lifetime, within
  1-60 s) while the old key is used until it expires;
- once it expired and no new one came, requests fail with ``CredentialsError``
  (``reason="credentials"``) naming the source and its last failure, until a fetch succeeds;
- a reload keeps an account's task and key while what the key depends on is unchanged
  (``_spec``): no fetch at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator

import httpx
from prometheus_client.metrics_core import Metric

from exporter import metrics
from exporter.config import Account, Config
from exporter.credentials import Key, SourceError, fetch_instance_key
from exporter.stats import Stats
from exporter.ucloud import CredentialsError, UCloudClient, UCloudError, assume_role

log = logging.getLogger(__name__)
__all__ = ["METADATA_ACTION", "REFRESH_LEFT", "KeyBook"]

#: The action name metadata STS fetches are counted under (AssumeRole is its own).
METADATA_ACTION = "MetadataSecurityCredentials"
REFRESH_LEFT = 0.2  # refresh when this share of the key's lifetime is left
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 1.0, 60.0
_UNKNOWN_LIFETIME = 600.0  # before the first key: backoff up to 60 s


def _spec(config: Config, account: Account) -> tuple[object, ...] | None:
    """What an account's temporary key depends on; None for long-lived keys."""
    if account.instance_role is None and account.assume_role is None:
        return None
    gateway = config.ucloud.base_url if account.assume_role is not None else None
    return (*account.key_source, gateway)


def _source(account: Account) -> str:
    return account.credential_source


class _Entry:
    """One account's temporary key and its refresh task."""

    def __init__(self, account: Account, spec: tuple[object, ...]) -> None:
        self.account = account
        self.spec = spec
        self.key: Key | None = None
        self.error = ""  # why the last fetch failed ("" after a success)
        self.tried = asyncio.Event()  # the first fetch ended (either way)
        self.task: asyncio.Task[None] | None = None
        self.expired_logged = False


class KeyBook:
    """Each account's key to sign with now; temporary keys refreshed on the engine's loop."""

    def __init__(self, config: Config, stats: Stats) -> None:
        self._config = config
        self._stats = stats
        self._client: UCloudClient | None = None
        self._entries: dict[str, _Entry] = {}
        self._http: httpx.AsyncClient | None = None

    async def start(self, client: UCloudClient) -> None:
        """Start a refresh task for every account with temporary keys (on the engine's loop)."""
        self._client = client
        self._begin(self._config)

    def reconfigure(self, client: UCloudClient, config: Config) -> list[asyncio.Task[None]]:
        """Take a reloaded configuration at once (on the loop, between two awaits): keep the
        tasks and keys of unchanged accounts, start the new ones; return the cancelled tasks
        (for the caller to await)."""
        self._client, self._config = client, config
        accounts = {a.name: a for a in config.accounts}
        stopping = []
        for name, entry in list(self._entries.items()):
            now = accounts.get(name)
            if now is not None and _spec(config, now) == entry.spec:
                entry.account = now
                continue
            del self._entries[name]
            if entry.task is not None:
                entry.task.cancel()
                stopping.append(entry.task)
        self._begin(config)
        return stopping

    def _begin(self, config: Config) -> None:
        for account in config.accounts:
            spec = _spec(config, account)
            if spec is None or account.name in self._entries:
                continue
            entry = self._entries[account.name] = _Entry(account, spec)
            entry.task = asyncio.ensure_future(self._run(entry))

    async def stop(self) -> None:
        """Cancel every refresh task and close the metadata connections."""
        tasks = [e.task for e in self._entries.values() if e.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._entries.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def key(self, account: Account, deadline: float) -> Key:
        """Return the key to sign ``account``'s request with now (the client's KeyProvider).

        Raise CredentialsError when its temporary key expired (or never came) and its source
        fails; wait for the first fetch, within ``deadline``, when it has not ended yet.
        """
        if account.instance_role is None and account.assume_role is None:
            return Key(account.public_key, account.private_key)
        entry = self._entries.get(account.name)
        if entry is None:
            raise CredentialsError(f"account {account.name}: its keys are not being fetched")
        if entry.key is None and not entry.tried.is_set():
            left = deadline - time.monotonic()
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(entry.tried.wait(), left)
        key = entry.key
        if key is not None and (key.expires is None or key.expires > time.time()):
            return key
        if not entry.tried.is_set():
            problem = f"account {account.name}: {_source(account)}: no answer yet"
        else:
            why = entry.error or "its refresh has not run yet"
            problem = f"account {account.name}: {_source(account)} failed: {why}"
        if key is not None and key.expires is not None:
            problem += f"; its last key expired at {_iso(key.expires)}"
            if not entry.expired_logged:
                entry.expired_logged = True
                log.error("credentials expired: %s", problem)
        raise CredentialsError(problem)

    def families(self) -> Iterator[Metric]:
        """Yield each account's temporary key expiry (safe from any thread)."""
        family = metrics.CREDENTIALS_EXPIRY.new()
        for name, entry in sorted(dict(self._entries).items()):
            key = entry.key
            if key is not None and key.expires is not None:
                family.add_metric((name,), key.expires)
        yield family

    def expiries(self) -> dict[str, float]:
        """Return the expiry of each account's temporary key (those fetched)."""
        return {
            name: e.key.expires
            for name, e in dict(self._entries).items()
            if e.key is not None and e.key.expires is not None
        }

    async def _run(self, entry: _Entry) -> None:
        """Fetch the account's key now, then again before it expires, forever."""
        failures = 0
        while True:
            try:
                key = await self._fetch(entry.account)
            except (SourceError, UCloudError) as exc:
                failures += 1
                entry.error = str(exc)
                entry.tried.set()
                log.warning(
                    "credentials of account %s: %s failed (attempt %d): %s",
                    entry.account.name,
                    _source(entry.account),
                    failures,
                    entry.error,
                )
                delay = self._retry_delay(entry.key, failures)
            else:
                failures = 0
                entry.key, entry.error, entry.expired_logged = key, "", False
                entry.tried.set()
                assert key.expires is not None and key.issued is not None
                lifetime = key.expires - key.issued
                delay = key.expires - time.time() - REFRESH_LEFT * lifetime
                log.info(
                    "credentials of account %s: new temporary key from %s, expires %s",
                    entry.account.name,
                    _source(entry.account),
                    _iso(key.expires),
                )
            # At most one fetch a second, whatever lifetime a (hostile) source gives.
            await asyncio.sleep(max(RETRY_FIRST_SECONDS, delay))

    @staticmethod
    def _retry_delay(key: Key | None, failures: int) -> float:
        lifetime = _UNKNOWN_LIFETIME
        if key is not None and key.expires is not None and key.issued is not None:
            lifetime = key.expires - key.issued
        cap = min(RETRY_MAX_SECONDS, max(RETRY_FIRST_SECONDS, lifetime / 10))
        return float(min(cap, RETRY_FIRST_SECONDS * 2 ** (failures - 1)))

    async def _fetch(self, account: Account) -> Key:
        """Fetch a new temporary key: from the metadata service, then AssumeRole if set."""
        timeout = self._config.ucloud.timeout_seconds
        observe = self._stats.observer(account.name, None)
        if account.instance_role is not None:
            if self._http is None:
                self._http = httpx.AsyncClient(
                    timeout=timeout, follow_redirects=False, trust_env=False
                )
            try:
                base = await fetch_instance_key(self._http, account.instance_role, timeout=timeout)
            except SourceError as exc:
                observe(METADATA_ACTION, exc.reason)
                raise
            observe(METADATA_ACTION, None)
        else:
            base = Key(account.public_key, account.private_key)
        if account.assume_role is None:
            return base
        if self._client is None:
            raise SourceError("the API client is not started", reason="error")
        deadline = time.monotonic() + timeout * (self._config.ucloud.retries + 1)
        try:
            return await assume_role(
                self._client,
                account,
                account.assume_role,
                key=base,
                deadline=deadline,
                observe=observe,
            )
        except UCloudError as exc:
            detail = f" (request id {exc.request_id})" if exc.request_id else ""
            raise SourceError(f"AssumeRole: {exc}{detail}", reason=exc.reason) from exc


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
