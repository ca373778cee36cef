"""Checks of the Kubernetes manifests under deploy/kubernetes/.

No cluster and no kubectl are needed: core resources are validated offline
against the Kubernetes OpenAPI schemas bundled with ``kubernetes-validate``,
the kustomization is rendered by reading the files it lists, and the pod's
view of its volumes is laid out in a temporary directory, where the real
exporter checks its configuration and answers its probes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.support.manifests import (
    APP_LABEL,
    K8S,
    KUBE_VERSION,
    NAME,
    OPTIONAL,
    PROM,
    RULE_FILES,
    Doc,
    container,
    get,
    is_subset,
    kustomization,
    load_docs,
    objects,
    rendered,
)
from tests.support.realparts import require_binary

# -- kustomization --------------------------------------------------------------------------


def test_kustomization_lists_every_manifest():
    listed = kustomization()["resources"]
    for name in listed:
        assert (K8S / name).is_file(), f"kustomization.yaml lists missing {name}"
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == set(listed) | set(OPTIONAL), "every manifest is listed or optional"
    assert not set(listed) & set(OPTIONAL)
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    for name in OPTIONAL:
        assert name in readme, f"README.md must say how to use the optional {name}"


def test_namespace_agnostic():
    assert "namespace" not in kustomization()
    for (kind, name), doc in objects().items():
        assert "namespace" not in doc["metadata"], f"{kind} {name} names a namespace"


def test_every_object_carries_the_app_label():
    for (kind, name), doc in objects().items():
        assert is_subset(APP_LABEL, doc["metadata"].get("labels", {})), f"{kind} {name}"


def squeeze(value: Any) -> Any:
    """``value`` with every string's whitespace runs collapsed to one space."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {k: squeeze(v) for k, v in value.items()}
    if isinstance(value, list):
        return [squeeze(v) for v in value]
    return value


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (optional)")
def test_kubectl_kustomize_renders_the_same():
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    by_key = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(result.stdout)}
    # kustomize re-emits folded (>-) scalars with more-indented lines with an extra blank line
    # (a go-yaml quirk); only whitespace inside PromQL changes.
    assert squeeze(by_key) == squeeze({(d["kind"], d["metadata"]["name"]): d for d in rendered()})


def readme_overlay() -> str:
    """The example overlay kustomization.yaml from deploy/kubernetes/README.md."""
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)
    overlays = [b for b in blocks if "- ../deploy/kubernetes" in b]
    assert len(overlays) == 1, "README.md shows one overlay"
    overlay: str = overlays[0]
    return overlay


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (optional)")
def test_readme_overlay_sets_namespace_image_and_release_label(tmp_path: Path):
    shutil.copytree(
        K8S, tmp_path / "deploy" / "kubernetes", ignore=shutil.ignore_patterns("__pycache__")
    )
    overlay = tmp_path / "my-overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(readme_overlay(), encoding="utf-8")
    result = subprocess.run(
        ["kubectl", "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.stdout)}
    assert set(docs) == {d["kind"] for d in rendered()}
    assert {d["metadata"]["namespace"] for d in docs.values()} == {"monitoring"}
    image = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example.com/ucloud-image-exporter:0.1.0"
    for kind, doc in docs.items():
        labels = doc["metadata"]["labels"]
        assert (labels.get("release") == "prometheus") == (
            kind in {"ServiceMonitor", "PrometheusRule"}
        ), kind


# -- schemas --------------------------------------------------------------------------------

CORE = [
    ("Deployment", NAME),
    ("Service", NAME),
    ("ConfigMap", f"{NAME}-config"),
    ("Secret", OPTIONAL["secret.example.yaml"]),
]


@pytest.mark.parametrize(("kind", "name"), CORE)
def test_core_resource_is_schema_valid(kind: str, name: str):
    kubernetes_validate.validate(get(kind, name), KUBE_VERSION, strict=True)


def test_schema_validation_would_catch_problems():
    broken = get("Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


# -- Service and ServiceMonitor -------------------------------------------------------------


def test_service_targets_the_pods():
    service = get("Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert is_subset(
        service["spec"]["selector"], get("Deployment")["spec"]["template"]["metadata"]["labels"]
    )
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["http"]["port"] == 9787
    assert ports["http"]["targetPort"] in {p["name"] for p in container()["ports"]}


def test_servicemonitor_scrapes_the_service():
    monitor = get("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert is_subset(
        monitor["spec"]["selector"]["matchLabels"], get("Service")["metadata"]["labels"]
    )
    assert "namespaceSelector" not in monitor["spec"], "own namespace only"
    service_ports = {p["name"] for p in get("Service")["spec"]["ports"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in service_ports
    assert endpoint["path"] == "/metrics"
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("60s", "30s")


def test_job_label_matches_the_alert_rules():
    # The Operator names the job after the Service; the `up` alerts match job=~"NAME.*".
    assert "jobLabel" not in get("ServiceMonitor")["spec"]
    alerts = (PROM / "alerts.yml").read_text(encoding="utf-8")
    regexes = set(re.findall(r'up\{job=~"([^"]+)"\}', alerts))
    assert regexes
    for regex in regexes:
        assert re.fullmatch(regex, get("Service")["metadata"]["name"]), regex


# -- PrometheusRule -------------------------------------------------------------------------


def rule_file_groups() -> list[Doc]:
    """The groups of the repository's rule files, in order."""
    return [group for path in RULE_FILES for group in load_docs(path)[0]["groups"]]


def test_prometheusrule_carries_exactly_the_rule_files():
    rule = get("PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rule["spec"]) == {"groups"}
    assert rule["spec"]["groups"] == rule_file_groups()


@pytest.mark.e2e
def test_prometheusrule_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(K8S / "generate_rules.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.e2e
def test_generate_check_would_catch_a_stale_file(tmp_path: Path):
    stale = tmp_path / "prometheusrule.yaml"
    stale.write_text((K8S / "prometheusrule.yaml").read_text().replace("for: 5m", "for: 6m"))
    result = subprocess.run(
        [sys.executable, str(K8S / "generate_rules.py"), "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "stale" in result.stderr


@pytest.mark.e2e
def test_prometheusrule_spec_passes_promtool(tmp_path: Path):
    promtool = require_binary("promtool")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(get("PrometheusRule")["spec"]), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
