"""The Kubernetes manifests under deploy/kubernetes/, read as the kustomization renders them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
PROM = ROOT / "prometheus"
RULE_FILES = (PROM / "alerts.yml", PROM / "recording.yml")

# Oldest Kubernetes minor version the manifests must be valid for.
KUBE_VERSION = "1.30"
# Manifests in the folder that kustomization.yaml deliberately does not list.
OPTIONAL = {"secret.example.yaml": "ucloud-image-exporter-keys"}
NAME = "ucloud-image-exporter"
APP_LABEL = {"app.kubernetes.io/name": NAME}
CONFIG_DIR = "/etc/ucloud-image-exporter"

Doc = dict[str, Any]


def load_docs(path: Path) -> list[Doc]:
    """Every non-empty YAML document of ``path``."""
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def kustomization() -> Doc:
    """The parsed kustomization.yaml."""
    docs = load_docs(K8S / "kustomization.yaml")
    assert len(docs) == 1
    return docs[0]


def rendered() -> list[Doc]:
    """What ``kubectl kustomize`` yields: the documents of the listed resource files."""
    return [doc for name in kustomization()["resources"] for doc in load_docs(K8S / name)]


def objects() -> dict[tuple[str, str], Doc]:
    """Rendered resources plus the optional ones, by (kind, name)."""
    docs = rendered() + [doc for name in OPTIONAL for doc in load_docs(K8S / name)]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def get(kind: str, name: str = NAME) -> Doc:
    """The resource ``kind``/``name``."""
    found = objects().get((kind, name))
    assert found is not None, f"no {kind} {name!r} in deploy/kubernetes"
    return found


def pod_spec() -> Doc:
    """The Deployment's pod spec."""
    spec: Doc = get("Deployment")["spec"]["template"]["spec"]
    return spec


def container() -> Doc:
    """The Deployment's only container."""
    containers = pod_spec()["containers"]
    assert len(containers) == 1
    result: Doc = containers[0]
    return result


def config_text() -> str:
    """The exporter configuration carried by the ConfigMap."""
    text: str = get("ConfigMap", f"{NAME}-config")["data"]["config.yaml"]
    return text


def config_file_arg() -> str:
    """The value of the container's --config.file flag."""
    values = [a.split("=", 1)[1] for a in container()["args"] if a.startswith("--config.file=")]
    assert len(values) == 1, container()["args"]
    value: str = values[0]
    return value


def is_subset(small: dict[str, str], big: dict[str, str]) -> bool:
    """True if every key/value of ``small`` is in ``big``."""
    return small.items() <= big.items()
