"""The HTTP face: the ASGI app (routing), the production server and its limits, the web config
(TLS and users, reloadable) and basic auth."""

from __future__ import annotations

from exporter.web.app import App
from exporter.web.server import Limits, parse_listen_address, serve
from exporter.web.watch import LiveWebConfig

__all__ = ["App", "Limits", "LiveWebConfig", "parse_listen_address", "serve"]
