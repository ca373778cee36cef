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

from tests.support.procs import Exporter, run_cli
from tests.support.realparts import require_binary

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (optional)")
def test_kubectl_kustomize_renders_the_same():
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True,
                            timeout=60, check=False)
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


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (optional)")
def test_readme_overlay_sets_namespace_image_and_release_label(tmp_path: Path):
    shutil.copytree(K8S, tmp_path / "deploy" / "kubernetes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    overlay = tmp_path / "my-overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(readme_overlay(), encoding="utf-8")
    result = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.stdout)}
    assert set(docs) == {d["kind"] for d in rendered()}
    assert {d["metadata"]["namespace"] for d in docs.values()} == {"monitoring"}
    image = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example.com/ucloud-image-exporter:0.1.0"
    for kind, doc in docs.items():
        labels = doc["metadata"]["labels"]
        assert (labels.get("release") == "prometheus") == (kind in {"ServiceMonitor",
                                                                   "PrometheusRule"}), kind


# -- schemas --------------------------------------------------------------------------------

CORE = [("Deployment", NAME), ("Service", NAME), ("ConfigMap", f"{NAME}-config"),
        ("Secret", OPTIONAL["secret.example.yaml"])]


@pytest.mark.parametrize(("kind", "name"), CORE)
def test_core_resource_is_schema_valid(kind: str, name: str):
    kubernetes_validate.validate(get(kind, name), KUBE_VERSION, strict=True)


def test_schema_validation_would_catch_problems():
    broken = get("Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


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
    # Measured (deploy/kubernetes/README.md): 100k buckets, two overlapping scrapes, VmHWM
    # 277 MB; steady VmRSS 102 MB. The limit leaves headroom, the request covers steady state.
    assert quantity(resources["limits"]["memory"]) >= 1.25 * 277e6
    assert quantity(resources["requests"]["memory"]) >= 102e6
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


def test_config_passes_config_check_as_the_pod_sees_it(tmp_path: Path):
    lay_out_pod_filesystem(tmp_path)
    result = run_cli("--config.file", str(pod_config_path(tmp_path)), "--config.check",
                     cwd=tmp_path, env={"UCLOUD_PUBLIC_KEY": "", "UCLOUD_PRIVATE_KEY": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_config_check_would_catch_missing_keys(tmp_path: Path):
    lay_out_pod_filesystem(tmp_path)
    (pod_config_path(tmp_path).parent / "keys" / "private_key").unlink()
    result = run_cli("--config.file", str(pod_config_path(tmp_path)), "--config.check",
                     cwd=tmp_path, env={"UCLOUD_PRIVATE_KEY": ""})
    assert result.returncode == 1
    assert "private_key_file" in result.stderr


def test_exporter_answers_the_probes_as_the_pod_runs_it(tmp_path: Path):
    lay_out_pod_filesystem(tmp_path)
    args = [a if not a.startswith("--config.file=") else
            f"--config.file={pod_config_path(tmp_path)}" for a in container()["args"]]
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
    expected = (key_paths(example) - {"accounts[].public_key", "accounts[].project_id"}
                | {"accounts[].public_key_file"})
    assert key_paths(ours) == expected


def test_secret_template_matches_the_projection():
    secret = get("Secret", OPTIONAL["secret.example.yaml"])
    projected = [ref for kind, ref in volume_source(
        next(v for v in pod_spec()["volumes"] if v["name"] == "config")) if kind == "secret"]
    assert [ref["name"] for ref in projected] == [secret["metadata"]["name"]]
    assert {i["key"] for i in projected[0]["items"]} == set(secret["stringData"])
    assert "data" not in secret


# -- Service and ServiceMonitor -------------------------------------------------------------


def test_service_targets_the_pods():
    service = get("Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert is_subset(service["spec"]["selector"], get("Deployment")["spec"]["template"]
                     ["metadata"]["labels"])
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["http"]["port"] == 9787
    assert ports["http"]["targetPort"] in {p["name"] for p in container()["ports"]}


def test_servicemonitor_scrapes_the_service():
    monitor = get("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert is_subset(monitor["spec"]["selector"]["matchLabels"], get("Service")["metadata"]
                     ["labels"])
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


def test_prometheusrule_is_up_to_date():
    result = subprocess.run([sys.executable, str(K8S / "generate_rules.py"), "--check"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_generate_check_would_catch_a_stale_file(tmp_path: Path):
    stale = tmp_path / "prometheusrule.yaml"
    stale.write_text((K8S / "prometheusrule.yaml").read_text().replace("for: 5m", "for: 6m"))
    result = subprocess.run([sys.executable, str(K8S / "generate_rules.py"), "--check",
                             "--output", str(stale)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "stale" in result.stderr


def test_prometheusrule_spec_passes_promtool(tmp_path: Path):
    promtool = require_binary("promtool")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(get("PrometheusRule")["spec"]), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
