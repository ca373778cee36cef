"""The Kubernetes Deployment: its shape and security, and the pod's view of its volumes laid
out in a temporary directory, where the real exporter checks its configuration and answers its
probes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.manifests import (
    APP_LABEL,
    CONFIG_DIR,
    NAME,
    OPTIONAL,
    ROOT,
    Doc,
    config_file_arg,
    config_text,
    container,
    get,
    is_subset,
    pod_spec,
)
from tests.support.procs import Exporter, run_cli

# -- Deployment -----------------------------------------------------------------------------


def test_deployment_shape():
    deployment = get("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert is_subset(spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"])
    assert is_subset(APP_LABEL, spec["selector"]["matchLabels"])
    assert pod_spec()["automountServiceAccountToken"] is False
    assert container()["image"] == f"{NAME}:0.1.0"
    assert "--web.enable-lifecycle" not in container()["args"]


def test_deployment_security_context():
    pod = pod_spec()["securityContext"]
    ctr = container()["securityContext"]
    for ctx in (pod, ctr):
        assert ctx["runAsNonRoot"] is True
        assert ctx["runAsUser"] == 10001 and ctx["runAsGroup"] == 10001
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctr["readOnlyRootFilesystem"] is True
    assert ctr["allowPrivilegeEscalation"] is False
    assert ctr["capabilities"] == {"drop": ["ALL"]}
    assert ctr.get("privileged", False) is False


def test_deployment_probes_use_the_named_port():
    ports = {p["name"]: p for p in container()["ports"]}
    assert ports["http"]["containerPort"] == 9787
    probes = {"livenessProbe": "/-/healthy", "readinessProbe": "/-/ready"}
    for probe, path in probes.items():
        http_get = container()[probe]["httpGet"]
        assert http_get == {"path": path, "port": "http"}, probe
        assert container()[probe]["timeoutSeconds"] >= 2, "a scrape may slow answers down"


def quantity(value: str | int) -> float:
    """A Kubernetes quantity (the suffixes used here) as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    match = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|)", str(value))
    assert match, f"unexpected quantity {value!r}"
    return float(match.group(1)) * units[match.group(2)]


def test_deployment_resources():
    resources = container()["resources"]
    for kind in ("cpu", "memory"):
        request = quantity(resources["requests"][kind])
        limit = quantity(resources["limits"][kind])
        assert 0 < request <= limit, kind
    # Measured (deploy/kubernetes/README.md, the compact benchmark): 1,000,000 buckets, a gzip
    # and a plain scrape overlapping, VmHWM 415 MiB; steady VmRSS 178 MiB. Both leave 25 %
    # headroom: the limit over the peak, the request over the steady state.
    assert quantity(resources["limits"]["memory"]) >= 1.25 * 415 * 2**20
    assert quantity(resources["requests"]["memory"]) >= 1.25 * 178 * 2**20
    assert quantity(resources["limits"]["cpu"]) >= 1, "a collection uses about one core"


def volume_source(volume: Doc) -> list[tuple[str, Doc]]:
    """The (kind, reference) pairs of a ConfigMap, Secret or projected volume."""
    if "projected" in volume:
        return [next(iter(s.items())) for s in volume["projected"]["sources"]]
    for key, kind in (("configMap", "configMap"), ("secret", "secret")):
        if key in volume:
            ref = dict(volume[key])
            ref.setdefault("name", ref.get("secretName"))
            return [(kind, ref)]
    return []


def object_data(kind: str, name: str) -> dict[str, str]:
    """The data of a ConfigMap or (template) Secret, as text."""
    doc = get("ConfigMap" if kind == "configMap" else "Secret", name)
    data: dict[str, str] = doc.get("data") or doc.get("stringData") or {}
    return data


def lay_out_pod_filesystem(root: Path) -> None:
    """Write the container's volume mounts under ``root`` as the kubelet would."""
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    for mount in container()["volumeMounts"]:
        target = root / mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        volume = volumes[mount["name"]]
        assert "subPath" not in mount, "subPath mounts never see ConfigMap/Secret updates"
        for kind, ref in volume_source(volume):
            data = object_data(kind, ref["name"])
            items = ref.get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                path = target / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(data[item["key"]], encoding="utf-8")


def pod_config_path(root: Path) -> Path:
    """Where the container's --config.file lands under ``root``."""
    return root / config_file_arg().lstrip("/")


def test_mounts_put_config_and_keys_where_the_config_expects(tmp_path: Path):
    lay_out_pod_filesystem(tmp_path)
    config_path = pod_config_path(tmp_path)
    assert config_path.is_file(), "--config.file is not inside a mounted volume"
    assert config_path.read_text(encoding="utf-8") == config_text()
    config = yaml.safe_load(config_text())
    for account in config["accounts"]:
        for key in ("public_key_file", "private_key_file"):
            assert not Path(account[key]).is_absolute(), "key files relative to the config"
            assert (config_path.parent / account[key]).is_file(), account[key]
            assert account[key].startswith("keys/")
    mounts = {m["mountPath"]: m for m in container()["volumeMounts"]}
    assert mounts[CONFIG_DIR]["readOnly"] is True
    assert "/tmp" in mounts
    assert (tmp_path / "etc/ucloud-image-exporter/keys/private_key").is_file()


def test_projected_files_readable_by_the_exporter_user():
    volume = next(v for v in pod_spec()["volumes"] if v["name"] == "config")
    mode = volume["projected"]["defaultMode"]
    assert mode & 0o040, "group read for fsGroup"
    assert not mode & 0o007, "no access for others"
    assert pod_spec()["securityContext"]["fsGroup"] == 10001


@pytest.mark.e2e
def test_config_passes_config_check_as_the_pod_sees_it(tmp_path: Path):
    lay_out_pod_filesystem(tmp_path)
    result = run_cli(
        "--config.file",
        str(pod_config_path(tmp_path)),
        "--config.check",
        cwd=tmp_path,
        env={"UCLOUD_PUBLIC_KEY": "", "UCLOUD_PRIVATE_KEY": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


@pytest.mark.e2e
def test_config_check_would_catch_missing_keys(tmp_path: Path):
    lay_out_pod_filesystem(tmp_path)
    (pod_config_path(tmp_path).parent / "keys" / "private_key").unlink()
    result = run_cli(
        "--config.file",
        str(pod_config_path(tmp_path)),
        "--config.check",
        cwd=tmp_path,
        env={"UCLOUD_PRIVATE_KEY": ""},
    )
    assert result.returncode == 1
    assert "private_key_file" in result.stderr


@pytest.mark.e2e
def test_exporter_answers_the_probes_as_the_pod_runs_it(tmp_path: Path):
    lay_out_pod_filesystem(tmp_path)
    args = [
        a if not a.startswith("--config.file=") else f"--config.file={pod_config_path(tmp_path)}"
        for a in container()["args"]
    ]
    exporter = Exporter(tmp_path, None, *args)
    try:
        for probe in ("livenessProbe", "readinessProbe"):
            response = exporter.get(container()[probe]["httpGet"]["path"], timeout=10)
            assert response.status_code == 200, probe
    finally:
        assert exporter.stop() == 0, exporter.logs()


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of nested mappings (list items as ``[]``)."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            paths |= {f"{prefix}{key}"} | key_paths(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, f"{prefix[:-1]}[].")
    return paths


def test_configmap_config_follows_config_example():
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    ours = yaml.safe_load(config_text())
    assert ours["ucloud"] == example["ucloud"]
    assert ours["collect"] == example["collect"]
    # Keys come from the Secret's files; project_id is left to the key's default project.
    expected = key_paths(example) - {"accounts[].public_key", "accounts[].project_id"} | {
        "accounts[].public_key_file"
    }
    assert key_paths(ours) == expected


def test_secret_template_matches_the_projection():
    secret = get("Secret", OPTIONAL["secret.example.yaml"])
    projected = [
        ref
        for kind, ref in volume_source(
            next(v for v in pod_spec()["volumes"] if v["name"] == "config")
        )
        if kind == "secret"
    ]
    assert [ref["name"] for ref in projected] == [secret["metadata"]["name"]]
    assert {i["key"] for i in projected[0]["items"]} == set(secret["stringData"])
    assert "data" not in secret
