"""The real Prometheus and Alertmanager binaries on loopback (see tests/support/realparts.py).

with PrometheusServer(config_yaml, {"alerts.yml": rules}, workdir=tmp_path) as prom:
    prom.wait_for('up{job="ucloud-image-exporter"} == 1', timeout=60)
    print(prom.query("ucloud_image_buckets"))
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Unpack, cast

from tests.support.realparts import (
    ALERTMANAGER_BINARY,
    LOOPBACK,
    PROMETHEUS_BINARY,
    LoopbackServer,
    Sample,
    ServerOptions,
    poll,
)


class PrometheusServer(LoopbackServer):
    """``/usr/bin/prometheus`` with the given configuration, on loopback.

    ``config_yaml`` is written to ``<workdir>/prometheus.yml``; ``rule_files``
    maps file names (relative to that config, as its ``rule_files`` refer to
    them) to their text or to a path to copy.

    Prometheus sends a firing alert to Alertmanager at once only if it already
    knows the Alertmanager, and otherwise resends it after
    ``--rules.alert.resend-delay`` (1m): tests that wait for alerts in
    Alertmanager should pass ``extra_args=["--rules.alert.resend-delay=1s"]``.
    """

    name = "prometheus"
    default_binary = PROMETHEUS_BINARY

    def __init__(
        self,
        config_yaml: str,
        rule_files: Mapping[str, str | Path] | None = None,
        **options: Unpack[ServerOptions],
    ) -> None:
        super().__init__(config_yaml, **options)
        self.rule_files = dict(rule_files or {})

    def _prepare(self) -> None:
        super()._prepare()
        for name, content in self.rule_files.items():
            target = self.workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_text(content, encoding="utf-8")

    def _args(self, port: int) -> list[str]:
        return [
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_path}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--web.enable-lifecycle",
        ]

    def _api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        body = self._get_json(path, params)
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus {path} {params or ''}: {body}")
        return body["data"]

    def query(self, expr: str, time_: float | None = None) -> list[Sample]:
        """Instant query; the result vector (or [scalar/string] wrapped as one sample)."""
        params = {"query": expr}
        if time_ is not None:
            params["time"] = f"{time_:.3f}"
        data = self._api("/api/v1/query", params)
        result = data["result"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": result}]
        return cast(list[Sample], result)

    def series(self, match: str, start: float, end: float) -> list[dict[str, str]]:
        """Label sets of the series ``match`` selects between ``start`` and ``end`` (unix s)."""
        params = {"match[]": match, "start": f"{start:.3f}", "end": f"{end:.3f}"}
        return cast(list[dict[str, str]], self._api("/api/v1/series", params))

    def wait_for(
        self,
        expr: str,
        predicate: Callable[[list[Sample]], bool] = bool,
        timeout: float = 30.0,
        interval: float = 0.5,
    ) -> list[Sample]:
        """Poll ``expr`` until ``predicate(result)`` holds; return that result.

        The default predicate waits for a non-empty result.  Raises
        ``TimeoutError`` (with the last result or query error) after ``timeout``.
        """
        return poll(
            lambda: self.query(expr),
            predicate,
            timeout=timeout,
            interval=interval,
            what=f"{expr!r}",
        )

    def alerts(self) -> list[dict[str, Any]]:
        """Active (pending and firing) alerts, from /api/v1/alerts."""
        return cast(list[dict[str, Any]], self._api("/api/v1/alerts")["alerts"])

    def rules(self) -> list[dict[str, Any]]:
        """Rule groups with their rules' health, from /api/v1/rules."""
        return cast(list[dict[str, Any]], self._api("/api/v1/rules")["groups"])

    def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets, from /api/v1/targets."""
        return cast(list[dict[str, Any]], self._api("/api/v1/targets")["activeTargets"])

    def reload(self) -> None:
        """Re-read the configuration (POST /-/reload; needs --web.enable-lifecycle)."""
        response = self._client.post(f"{self.url}/-/reload")
        if response.status_code != 200:
            raise RuntimeError(f"prometheus reload: HTTP {response.status_code}: {response.text}")


class AlertmanagerServer(LoopbackServer):
    """``/usr/bin/prometheus-alertmanager`` with the given configuration, on loopback.

    Clustering is disabled (``--cluster.listen-address=``).
    """

    name = "alertmanager"
    default_binary = ALERTMANAGER_BINARY

    def _args(self, port: int) -> list[str]:
        return [
            f"--config.file={self.config_path}",
            f"--storage.path={self.data_path}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds, from /api/v2/alerts."""
        return cast(list[dict[str, Any]], self._get_json("/api/v2/alerts"))

    def wait_for_alerts(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = 30.0,
        interval: float = 0.5,
    ) -> list[dict[str, Any]]:
        """Poll ``alerts()`` until ``predicate`` holds; ``TimeoutError`` after ``timeout``."""
        return poll(
            self.alerts, predicate, timeout=timeout, interval=interval, what="alertmanager alerts"
        )
