"""UCloud API request signatures, as described in the gateway's public docs."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

__all__ = ["flatten_params", "format_value", "sign", "string_to_sign", "verify"]


def format_value(value: object) -> str:
    """Render one parameter value the way it is sent and signed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def string_to_sign(params: Mapping[str, object], private_key: str) -> str:
    """Build the plain text whose SHA-1 is the signature (never log it)."""
    parts = [name + format_value(params[name]) for name in sorted(params) if name != "Signature"]
    return "".join(parts) + private_key


def sign(params: Mapping[str, object], private_key: str) -> str:
    """Return the lowercase hex SHA-1 signature of ``params`` under ``private_key``."""
    text = string_to_sign(params, private_key)
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify(params: Mapping[str, str], private_key: str) -> bool:
    """Tell whether ``params["Signature"]`` matches the other parameters."""
    given = params.get("Signature", "")
    return hmac.compare_digest(given.encode("utf-8"), sign(params, private_key).encode("utf-8"))


def flatten_params(body: Mapping[str, Any]) -> dict[str, str]:
    """Flatten a JSON request body into flat string parameters (``Name.0``, ``Name.Key``)."""
    flat: dict[str, str] = {}
    for name, value in body.items():
        _flatten_into(flat, str(name), value)
    return flat


def _flatten_into(flat: dict[str, str], name: str, value: Any) -> None:
    """Add ``value`` under ``name`` to ``flat``, recursing into lists and objects."""
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten_into(flat, f"{name}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten_into(flat, f"{name}.{index}", item)
    else:
        flat[name] = format_value(value)
