"""What the in-process tests share: one account of the exporter's config, hypothesis settings."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from exporter.config import Account, Secret

#: An account with one region "r", for listings against ``httpx.MockTransport``.
ACCOUNT = Account(
    name="a", public_key="pub", private_key=Secret("priv"), project_id=None, regions=("r",)
)
#: Bounded examples, no per-example deadline (the machine is shared).
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
