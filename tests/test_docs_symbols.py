"""No doc names a symbol that does not exist.

Every inline code span (`like this`) of README.md, docs/*.md and deploy/**/README.md that
looks like a file, a Python name, a dotted path, a configuration key or a metric is checked
against this tree and the libraries the exporter uses. CHANGELOG.md is history and exempt;
fenced code blocks are examples, not references, and are not read.

- a file or folder (`exporter/imagelines.py`, `deploy/kubernetes/`, `ucloud/_sts.py`): it
  exists, relative to the repository, to the doc, or as the tail of a tracked path;
- a configuration key (`collect.max_series`, `accounts[].buckets`, `uhub.*`): the parser
  accepts it (recorded from ``Checker.mapping`` while parsing a full configuration);
- a metric (`ucloud_…`), possibly with labels or elided (`…_api_errors_total`): a family of
  ``exporter.metrics.CATALOGUE`` (or a recording rule's name);
- a dotted Python path (`exporter.metrics.CATALOGUE`, `zlib.compressobj`,
  `httpx.AsyncClient.stream`, `tuple.count`): importable and reachable by ``getattr``; one
  whose head is a class of this tree (`Buckets.valued`) has each part defined in the source;
- a Python-looking name (`LineCache`, `make_wsgi_app`, `GZIP_LEVEL`, `signed_form`): defined
  in the source (``def``/``class``/assignment/field) or written there as a string, or an
  attribute of a library the project uses.

What is none of these (prose words, shell, PromQL, YAML values) is not checked; the few names
that look like symbols but belong to something else (UCloud's API, other programs' files) are
in ``ELSEWHERE`` with where they live.
"""

from __future__ import annotations

import builtins
import contextlib
import fnmatch
import functools
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

LIBRARIES = (
    "prometheus_client",
    "httpx",
    "httpx_aiohttp",
    "aiohttp",
    "uvicorn",
    "uvloop",
    "orjson",
    "yaml",
    "bcrypt",
    "zlib",
    "gzip",
    "json",
    "asyncio",
    "ssl",
    "socket",
    "socketserver",
    "os",
    "time",
    "array",
    "tracemalloc",
    "collections",
    "urllib.parse",
    "http.server",
    "wsgiref.simple_server",
    "cProfile",
    "threading",
    "concurrent.futures",
    "httpcore",
    "anyio",
)

# Names that look like code but name something outside this tree, with where they live.
ELSEWHERE = {
    # UCloud's API reference, product docs and SDKs
    "guide/image/common.md": "UHost product docs (custom image quota)",
    "uhost-api/describe_image.md": "UCloud API reference, DescribeImage",
    "external/shared_config.go": "ucloud-sdk-go",
    # ucloud-cli's shared files
    "credential.json": "ucloud-cli",
    "config.json": "ucloud-cli",
    # exporter-toolkit
    "web-config.yml": "exporter-toolkit's web configuration file",
    "web/tls_config_test.go": "exporter-toolkit",
    "web/handler_test.go": "exporter-toolkit",
    # UCloud API actions and fields the exporter does not call or read (runbooks, README)
    "DeleteRepo": "UHub API",
    "DeleteRepoImage": "UHub API",
    "CreateCustomImage": "UHost API",
    "TerminateCustomImage": "UHost API",
    "DiskSpace": "UHost API field (disk sizes in GB)",
    "BootDiskSpace": "UHost API field (disk sizes in GB)",
    "ImageIds": "UHost DescribeImage parameter (ImageIds.N)",
    # environment variables read by httpx and ssl, not by this tree
    "HTTPS_PROXY": "httpx",
    "HTTP_PROXY": "httpx",
    "ALL_PROXY": "httpx",
    "NO_PROXY": "httpx",
    "SSL_CERT_FILE": "OpenSSL / httpx",
    "SSL_CERT_DIR": "OpenSSL / httpx",
    # query parameters and placeholders
    "name[]": "the name[] query parameter of the telemetry path",
    "staging_public_key": "an example Secret key",
    # files an operator makes
    "web.yml": "an operator's web config",
    "config.yaml": "an operator's config",
    "demo.yaml": "the simulator's example config, saved by the reader",
    "fleet.yaml": "a fleet file of the reader's",
    "my-overlay/kustomization.yaml": "the reader's kustomize overlay",
    "alerts.yml": "prometheus/alerts.yml, as copied by the reader",
    "recording.yml": "prometheus/recording.yml, as copied by the reader",
    "prometheus.yml": "the reader's Prometheus config",
    "results.json": "--json output",
    "server.crt": "example file name",
    "server.key": "example file name",
    "keys/public_key": "path inside the pod",
    "keys/private_key": "path inside the pod",
    "keys/{public,private}_key": "path inside the pod",
    "public_key": "config key and Secret key",
    "private_key": "config key and Secret key",
    # Go and HTTP
    "WriteTimeout": "Go's net/http.Server",
    "MALLOC_MMAP_THRESHOLD_": "glibc tunable",
    "Retry-After": "HTTP header",
    "X-Prometheus-Scrape-Timeout-Seconds": "HTTP header",
    "X-UCLOUD-REQUEST-UUID": "UCloud gateway header",
    # Prometheus Operator / kube-prometheus-stack settings
    "serviceMonitorSelector": "Prometheus Operator",
    "ruleSelector": "Prometheus Operator",
    "serviceMonitorNamespaceSelector": "Prometheus Operator",
    "ruleNamespaceSelector": "Prometheus Operator",
    "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues": "kube-prometheus-stack",
    "ruleSelectorNilUsesHelmValues": "kube-prometheus-stack",
    "scrapeTimeout": "ServiceMonitor",
    "tlsConfig": "ServiceMonitor",
    "basicAuth": "ServiceMonitor",
    "ScrapeConfig": "Prometheus Operator resource",
    "ServiceMonitor": "Prometheus Operator resource",
    "PrometheusRule": "Prometheus Operator resource",
    "Prometheus": "Prometheus Operator resource",
    "ContainerCreating": "Kubernetes pod state",
    "ConfigMap": "Kubernetes",
    "Deployment": "Kubernetes",
    "Service": "Kubernetes",
    "Secret": "Kubernetes",
    "namePrefix": "kustomize",
    "nameSuffix": "kustomize",
    "stringData": "Kubernetes Secret",
    "fsGroup": "Kubernetes",
    "runAsNonRoot": "Kubernetes",
    "readOnlyRootFilesystem": "Kubernetes",
    "allowPrivilegeEscalation": "Kubernetes",
    "RuntimeDefault": "Kubernetes",
    "automountServiceAccountToken": "Kubernetes",
    "kubernetes_sd_configs": "Prometheus",
    "__meta_kubernetes_service_label_app_kubernetes_io_name": "Prometheus",
    "__param_account": "Prometheus relabelling",
    "__param_region": "Prometheus relabelling",
    "__address__": "Prometheus relabelling",
    "subPath": "Kubernetes",
    "emptyDir": "Kubernetes",
    "maxSurge": "Kubernetes",
    "maxUnavailable": "Kubernetes",
    "rule_files": "Prometheus",
    "alerting.alertmanagers": "Prometheus",
    "runbook_url": "Prometheus rule annotation",
    "target-counter-agg-rule": "grafana dashboard-linter",
}

DOCS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "deploy").rglob("README.md")]
)

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
PATHLIKE = re.compile(
    r"^[\w.{},-]+(/[\w.{},<>*-]*)+(::\w+)?$|^[\w.-]+\.(py|md|ya?ml|json|toml|cfg|go)(::\w+)?$"
)
DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_*]\w*)+(\(\))?$")
CONFIG = re.compile(r"^[a-z_]+(\[\])?(\.[a-z_*]+(\[\])?)*$")
NAME = re.compile(r"^[A-Za-z_]\w*(\(\))?$")
METRIC = re.compile(r"^(ucloud_|…_)[a-z0-9_:…*]*")
WEB_CONFIG = re.compile(r"^(tls_server_config|http_server_config|basic_auth_users)\b")
TOP = frozenset(
    [
        "exporter/",
        "docs/",
        "deploy/",
        "tests/",
        "benchmarks/",
        "grafana/",
        "prometheus/",
        "scripts/",
        "loadtest/",
    ]
)
# Words that look like names but are values, placeholders or other languages' words: the
# failure reasons (retcode_<n>, http_<status>), PromQL functions, sysctls.
OTHER_WORDS = re.compile(
    r"^(retcode_(\d+|\dxxx)|http_<status>|http_\d+|"
    r"(increase|rate|irate|sum|max|min|topk|absent|changes|resets|count|time)\(\)|"
    r"net\.ipv4\.\w+|net\.core\.\w+)$"
)
# Names the docs mention as removed, for users upgrading (README "What changed").
GONE = {
    "ucloud_image_bucket_region_discovery_requests_total": "removed in issue 21",
}


def spans(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, text) of every inline code span outside fenced blocks."""
    text = path.read_text(encoding="utf-8")
    blanked = FENCE.sub(lambda m: "\n" * m.group().count("\n"), text)
    for n, line in enumerate(blanked.splitlines(), 1):
        for m in SPAN.finditer(line):
            yield n, m.group(1).strip()


def _generated(part: str) -> bool:
    """Whether a path part is a cache, a virtualenv, git's own or build output."""
    return part.startswith(".venv") or part.endswith(".egg-info") or part in {
        ".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
    }  # fmt: skip


@functools.cache
def tracked() -> tuple[str, ...]:
    """Every file of the tree (no caches, virtualenvs or build output: no process started, so
    the fast loop may run it), plus its folders (trailing slash)."""
    out = [
        str(f.relative_to(ROOT))
        for f in ROOT.rglob("*")
        if f.is_file() and not any(_generated(part) for part in f.relative_to(ROOT).parts)
    ]
    folders = {str(Path(p).parent) + "/" for p in out} | {
        "/".join(p.split("/")[:i]) + "/" for p in out for i in range(1, p.count("/") + 1)
    }
    return tuple(out) + tuple(sorted(folders))


@functools.cache
def source() -> str:
    """All Python, YAML and JSON of the tree (not the docs), one string."""
    parts = []
    for p in tracked():
        if p.endswith((".py", ".yml", ".yaml", ".json", ".toml")) and not p.startswith("tests/"):
            parts.append((ROOT / p).read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


@functools.cache
def suite_source() -> str:
    """The test modules, one string (where a doc names a test)."""
    return "\n".join(
        (ROOT / p).read_text(encoding="utf-8", errors="replace")
        for p in tracked()
        if p.startswith("tests/") and p.endswith(".py")
    )


@functools.cache
def config_keys() -> frozenset[str]:
    """Every key path the configuration parser accepts, lists written as ``[]``."""
    from exporter import config as cfg
    from exporter import validation

    seen: set[str] = set()
    original = validation.Checker.mapping

    def record(self: Any, value: Any, path: str, allowed: tuple[str, ...]) -> Any:
        base = re.sub(r"\[\d+\]", "[]", path)
        for key in allowed:
            seen.add(f"{base}.{key}" if base else key)
        return original(self, value, path, allowed)

    account = {
        "name": "a",
        "public_key": "p",
        "private_key": "k",
        "regions": ["cn-bj2"],
        "assume_role": {"role_urn": "ucs:iam::1:role/x"},
        "buckets": {"include": "a"},
        "images": {"include": "a"},
    }
    data = {
        "ucloud": {},
        "collect": {},
        "uhub": {},
        "docker_images": {},
        "host_images": {},
        "accounts": [account],
    }
    validation.Checker.mapping = record  # type: ignore[method-assign]
    try:
        for raw in (data, yaml.safe_load((ROOT / "config.example.yaml").read_text())):
            with contextlib.suppress(cfg.ConfigError):
                cfg.parse(raw, env={})
    finally:
        validation.Checker.mapping = original  # type: ignore[method-assign]
    return frozenset(seen)


@functools.cache
def metric_names() -> frozenset[str]:
    """Families of the catalogue with their sample suffixes, and recording rules' names."""
    from exporter.metrics import CATALOGUE

    names = set()
    for f in CATALOGUE:
        names.add(f.name)
        if f.type == "counter":
            names.add(f.name.removesuffix("_total") + "_total")
    for rules in ("prometheus/recording.yml", "prometheus/alerts.yml"):
        for group in yaml.safe_load((ROOT / rules).read_text())["groups"]:
            for rule in group["rules"]:
                names.add(rule.get("record") or rule.get("alert"))
    return frozenset(names)


@functools.cache
def defined(name: str) -> bool:
    """Does ``name`` occur in the tree's source (tests only for a test's name)?"""
    text = suite_source() if name.startswith("test_") else source()
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text) is not None


def library_attr(dotted: str) -> bool:
    """Is ``dotted`` importable, or an attribute path of a library or a builtin?"""
    parts = dotted.removesuffix("()").split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for n, attr in enumerate(parts[i:]):  # noqa: B007 (n: below)
                last = obj
                obj = getattr(obj, attr)
        except AttributeError:
            # an instance attribute of a class, set in its code (uvicorn.Config.ssl)
            return (
                n == len(parts[i:]) - 1
                and isinstance(last, type)
                and f"self.{attr} " in inspect.getsource(last)
            )
        return True
    obj = getattr(builtins, parts[0], None)
    if obj is None:
        return False
    try:
        for attr in parts[1:]:
            obj = getattr(obj, attr)
    except AttributeError:
        return False
    return True


def in_libraries(name: str) -> bool:
    """Is ``name`` an attribute of one of the libraries (or a module of them)?"""
    bare = name.removesuffix("()")
    for lib in LIBRARIES:
        try:
            mod = importlib.import_module(lib)
        except ImportError:
            continue
        if hasattr(mod, bare):
            return True
    return library_attr(bare)


def problem(span: str, doc: Path) -> str | None:  # noqa: PLR0911, PLR0912 (one case a kind)
    """Why ``span`` names nothing that exists, or None."""
    s = span.rstrip(",.:;")
    if not s or s in ELSEWHERE or s in GONE or OTHER_WORDS.match(s):
        return None
    if METRIC.match(s) or (s.endswith(("_total", "_seconds")) and NAME.match(s)):
        if any(k == s or k.endswith("." + s) for k in config_keys()):
            return None
        return None if is_metric(s) else "no such metric in exporter.metrics.CATALOGUE"
    if s.startswith(("/", "~", "$", "-", "http", ".")) or " " in s:
        return None
    if is_path(s):
        clean = s.split("::")[0]
        if (ROOT / clean).exists() or (doc.parent / clean).exists():
            return None
        if any(p == clean or p.endswith("/" + clean) for p in tracked()):
            return None
        if "*" in clean and any(fnmatch.fnmatch(p, clean) for p in tracked()):
            return None
        return "no such file in the tree"
    if CONFIG.match(s) and ("." in s or "[]" in s):
        key = s.removesuffix(".*")
        if key in config_keys() or any(k.startswith(key + ".") for k in config_keys()):
            return None
        if WEB_CONFIG.match(s):
            last = s.split(".")[-1]
            return None if quoted(last) else "no such web configuration key"
        if "[]" in s:
            return "no such configuration key"
    if DOTTED.match(s):
        parts = s.removesuffix("()").split(".")
        if parts[0] == "exporter" or parts[0] in {lib.split(".")[0] for lib in LIBRARIES}:
            return None if library_attr(s) else "no such attribute"
        if library_attr(s):
            return None
        if all(defined(p) for p in parts if p != "*"):
            return None
        if CONFIG.match(s):
            return "no such configuration key, nor a name in the tree"
        return "no such name in the tree or its libraries"
    if NAME.match(s) and looks_like_code(s):
        bare = s.removesuffix("()")
        if defined(bare) or in_libraries(s):
            return None
        if bare in config_keys() or any(k.endswith("." + bare) for k in config_keys()):
            return None
        if is_metric(bare):
            return None
        return "no such name in the tree or its libraries"
    return None


def is_path(s: str) -> bool:
    """A file or folder: a known extension, a trailing slash, or a folder of the tree first."""
    if not PATHLIKE.match(s):
        return False
    last = s.rstrip("/").split("/")[-1].split("::")[0]
    return (
        s.endswith("/")
        or bool(re.search(r"\.(py|md|ya?ml|json|toml|cfg|go|txt|sh)$", last))
        or s.split("/", maxsplit=1)[0] + "/" in TOP
    )


def is_metric(s: str) -> bool:
    """A family of the catalogue (or a rule), whole, elided with …, globbed or as a tail."""
    name = re.split(r"[{\[ ]", s, maxsplit=1)[0]
    if name.endswith("_"):  # a prefix: ucloud_, ucloud_uhub_
        return any(m.startswith(name) for m in metric_names())
    pattern = re.escape(name).replace("…", ".*").replace(r"\*", ".*")
    anchored = re.compile(("" if name.startswith("…") else "^") + pattern + "$")
    if any(anchored.match(m) for m in metric_names()):
        return True
    return any(m.endswith("_" + name) for m in metric_names())


def quoted(name: str) -> bool:
    """Is ``name`` written as a string literal in the source?"""
    return re.search(rf"[\"']{re.escape(name)}[\"']", source()) is not None


def looks_like_code(s: str) -> bool:
    """CamelCase, Capitalised, snake_case, UPPER_CASE or a call: a name, not a prose word."""
    bare = s.removesuffix("()")
    return (
        s.endswith("()")
        or "_" in bare.strip("_")
        or bool(re.match(r"^[A-Z][a-z0-9]+[A-Z]", bare))
        or bool(re.match(r"^[a-z]+[A-Z]", bare))
        or bool(re.match(r"^[A-Z][a-z0-9]+$", bare))
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_span_names_something_that_exists(doc: Path) -> None:
    bad = [
        f"{doc.relative_to(ROOT)}:{line}: `{span}`: {why}"
        for line, span in spans(doc)
        if (why := problem(span, doc))
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "span",
    [
        "GZIP_LEVEL",
        "BucketCollector",
        "Bucket.from_row()",
        "exporter/nothing.py",
        "collect.no_such_key",
        "ucloud_image_bucket_nonsense",
        "exporter.metrics.NOTHING",
    ],
)
def test_the_check_catches_what_is_gone(span: str) -> None:
    assert problem(span, ROOT / "README.md")


@pytest.mark.parametrize(
    "span",
    [
        "LineCache",
        "exporter/imagelines.py",
        "collect.max_series",
        "accounts[].buckets",
        "ucloud_image_bucket_images",
        "…_api_errors_total",
        "exporter.metrics.CATALOGUE",
        "zlib.compressobj",
        "generate_latest",
        "tuple.count",
    ],
)
def test_the_check_knows_what_exists(span: str) -> None:
    assert problem(span, ROOT / "README.md") is None
