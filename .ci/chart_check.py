#!/usr/bin/env python3
"""CI check of charts/keyplane, with the real Helm library (helm-sdkpy).

helm-sdkpy 0.1.32 wraps Helm v4's Go library but exposes no `helm template`
and no client-only dry run: Install/Upgrade always talk to a cluster. Its
`Lint(Configuration()).run(chart_dir)` needs none, validates the values
against values.schema.json and renders every template, but takes no values
file and returns only severities (the Go error texts arrive as `{}`). So:

* values: each case is written as the values.yaml of a temporary copy of the
  chart (a values file merged over the defaults, as `helm -f` merges);
* strict: any lint message of severity WARNING or ERROR fails;
* rendering: in lint mode Helm's `fail` does not stop rendering, it logs
  `funcMap fail message=...` on stderr. The copy gets, for each template, a
  named-template twin and a dump template that `fail`s with the twin's
  output in base64, so the manifests Helm rendered come back through stderr
  and are parsed and checked here. The same log carries the chart's own
  `fail` checks (SQLite with several replicas, ...), which are errors here.

The manifests are also validated with kubernetes-validate (the Kubernetes
OpenAPI schemas, strict: unknown fields fail) for the oldest Kubernetes the
chart supports and the newest the package knows.

When a built `keyplane` binary is at hand ($KEYPLANE_BIN, target/release or
target/debug; required when $CI is set), it is started as each container
would be (global arguments, environment, the rendered Secret's variables,
the settings file) with `migrate status` on a scratch SQLite file as the
command: the real settings loader refuses unknown keys and bad values
exactly as a pod would.

Exits non-zero on the first failed check; prints one line per check.
"""

from __future__ import annotations

import ast
import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "keyplane"
CI_VALUES = CHART / "ci" / "replicas-values.yaml"
# Kubernetes versions the manifests must be valid for: the chart's
# kubeVersion floor and the newest kubernetes-validate knows.
K8S_VERSIONS = ["1.29.0", None]
CONFIG_FILE = "/etc/keyplane/keyplane.yaml"

LINT_SNIPPET = """
import asyncio, json, sys
import helm_sdkpy
result = asyncio.run(helm_sdkpy.Lint(helm_sdkpy.Configuration()).run(sys.argv[1]))
print(json.dumps(result))
"""
SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
DUMP = "KPDUMP"
FAIL_LINE = re.compile(r"funcMap fail message=(\"(?:[^\"\\]|\\.)*\"|\S+)")

checks = 0


def ok(what: str) -> None:
    global checks
    checks += 1
    print(f"  ok  {what}")


class CheckFailed(Exception):
    pass


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(what)
    ok(what)


# --------------------------------------------------------------------------
# Values and rendering
# --------------------------------------------------------------------------


def merge(base, over):
    """Helm's merge of a values file over the chart's: maps recurse, null
    deletes, anything else replaces."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def defaults() -> dict:
    return yaml.safe_load((CHART / "values.yaml").read_text())


class Rendered:
    def __init__(self, lint: dict, docs: dict[str, list[dict]], notes: str, fails: list[str], stderr: str):
        self.lint = lint
        self.docs = docs  # template file -> its documents
        self.notes = notes
        self.fails = fails  # the chart's own `fail` messages
        self.stderr = stderr

    def problems(self) -> list[str]:
        out = [
            f"lint {SEVERITY.get(m.get('Severity'), m.get('Severity'))} in {m.get('Path')}"
            for m in self.lint.get("Messages") or []
            if m.get("Severity", 0) >= 2
        ]
        if self.lint.get("Errors"):
            out.append(f"lint returned {len(self.lint['Errors'])} error(s)")
        out += [f"template fail: {f}" for f in self.fails]
        return out

    def all(self) -> list[dict]:
        return [d for docs in self.docs.values() for d in docs]

    def kind(self, kind: str) -> list[dict]:
        return [d for d in self.all() if d.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [d for d in self.kind(kind) if name is None or d["metadata"]["name"] == name]
        if len(found) != 1:
            raise CheckFailed(f"expected one {kind}{' ' + name if name else ''}, found {len(found)}")
        return found[0]


def render(values: dict) -> Rendered:
    """Lints a copy of the chart whose values.yaml is `values`; returns the
    lint result and what the templates rendered."""
    with tempfile.TemporaryDirectory(prefix="kp-chart-") as tmp:
        chart = Path(tmp) / "keyplane"
        shutil.copytree(CHART, chart)
        (chart / "values.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
        templates = chart / "templates"
        calls = []
        for path in sorted(templates.iterdir()):
            if path.name.startswith("_") or path.suffix not in (".yaml", ".yml", ".txt"):
                continue
            body = path.read_text()
            if "{{- define" in body or "{{ define" in body:
                raise CheckFailed(f"{path.name} defines templates; move them to _helpers.tpl")
            twin = f"kpdump/{path.name}"
            (templates / f"_kpdump_{path.name}.tpl").write_text(
                f'{{{{- define "{twin}" -}}}}\n{body}\n{{{{- end -}}}}\n'
            )
            calls.append(
                f'{{{{- fail (printf "{DUMP}:%s:%s" "{path.name}" (include "{twin}" . | b64enc)) }}}}'
            )
        (templates / "zz-kpdump.yaml").write_text("\n".join(calls) + "\n")
        proc = subprocess.run(
            [sys.executable, "-c", LINT_SNIPPET, str(chart)],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise CheckFailed(f"helm lint could not run:\n{proc.stderr[-4000:]}")
    lint = json.loads(proc.stdout.strip().splitlines()[-1])
    docs: dict[str, list[dict]] = {}
    notes = ""
    fails: list[str] = []
    for match in FAIL_LINE.finditer(proc.stderr):
        raw = match.group(1)
        message = ast.literal_eval(raw) if raw.startswith('"') else raw
        if not message.startswith(DUMP + ":"):
            if message not in fails:  # a template and its twin say it twice
                fails.append(message)
            continue
        _, name, payload = message.split(":", 2)
        text = base64.b64decode(payload).decode()
        if name == "NOTES.txt":
            notes = text
        else:
            try:
                docs[name] = [d for d in yaml.safe_load_all(text) if d]
            except yaml.YAMLError as e:
                raise CheckFailed(f"{name} rendered invalid YAML: {e}\n{text}") from e
    return Rendered(lint, docs, notes, fails, proc.stderr)


def lint_clean(label: str, r: Rendered) -> None:
    problems = r.problems()
    if not problems and not r.docs:
        problems = ["no rendered manifests came back from helm lint (did Helm stop logging `fail` in lint mode?)"]
    if problems:
        # Helm's own messages do not cross the binding; its log may help.
        log = "\n".join(l for l in r.stderr.splitlines() if DUMP not in l)[-4000:]
        raise CheckFailed(f"{label}: " + "; ".join(problems) + (f"\n{log}" if log else ""))
    ok(f"{label}: helm lint (strict: no warning, no error), every template rendered, no fail")


# --------------------------------------------------------------------------
# Checks shared by every rendering
# --------------------------------------------------------------------------


def kubernetes_schemas(label: str, r: Rendered) -> None:
    import kubernetes_validate

    for version in K8S_VERSIONS:
        version = version or kubernetes_validate.latest_version()
        for doc in r.all():
            if doc["apiVersion"].startswith("monitoring.coreos.com/"):
                continue  # a CRD: not in the Kubernetes schemas
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                raise CheckFailed(
                    f"{label}: {doc['kind']} {doc['metadata']['name']} is invalid for Kubernetes "
                    f"{version}: {e.message} at {list(e.path)}"
                ) from e
        ok(f"{label}: {len(r.all())} manifests valid for Kubernetes {version} (strict OpenAPI schemas)")


def container(deploy: dict) -> dict:
    return deploy["spec"]["template"]["spec"]["containers"][0]


def settings_of(r: Rendered, name: str) -> dict:
    return yaml.safe_load(r.one("ConfigMap", name)["data"]["keyplane.yaml"])


def hardened_pod(label: str, pod: dict) -> None:
    psc = pod["securityContext"]
    c = pod["containers"][0]
    sc = c["securityContext"]
    expect(
        psc.get("runAsNonRoot") is True
        and psc.get("runAsUser") == 65532
        and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
        f"{label}: pod runs as non-root 65532 with the RuntimeDefault seccomp profile",
    )
    expect(
        sc.get("readOnlyRootFilesystem") is True
        and sc.get("allowPrivilegeEscalation") is False
        and sc.get("capabilities", {}).get("drop") == ["ALL"]
        and sc.get("runAsNonRoot") is True,
        f"{label}: container has a read-only root, no privilege escalation, all capabilities dropped",
    )
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    expect(
        "emptyDir" in volumes.get(mounts.get("/tmp", ""), {}),
        f"{label}: /tmp is an emptyDir",
    )
    env = {e["name"] for e in c.get("env", [])}
    config_mount = mounts.get("/etc/keyplane")
    args = c["args"]
    expect(
        args[:2] == ["--config", CONFIG_FILE]
        and "configMap" in volumes.get(config_mount or "", {})
        and "KEYPLANE_CONFIG_FILE" not in env,
        f"{label}: --config {CONFIG_FILE} is the ConfigMap's keyplane.yaml (not KEYPLANE_CONFIG_FILE, "
        "which --config would override)",
    )


def server_deployment(label: str, r: Rendered, values: dict) -> dict:
    d = r.one("Deployment")
    pod = d["spec"]["template"]["spec"]
    c = container(d)
    cfg = values["config"]
    hardened_pod(label, pod)
    expect(
        c["livenessProbe"]["httpGet"] == {"path": "/health/alive", "port": "http"}
        and c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
        and c["startupProbe"]["httpGet"]["path"] == "/health/alive",
        f"{label}: liveness GET /health/alive, readiness GET /health/ready",
    )
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    expect(
        ports == {"http": cfg["serve"]["port"], "grpc": cfg["serve"]["grpc_port"]},
        f"{label}: container ports http {ports.get('http')} and grpc {ports.get('grpc')} are serve.port and serve.grpc_port",
    )
    grace = pod["terminationGracePeriodSeconds"]
    expect(
        grace > cfg["serve"]["shutdown_timeout_secs"],
        f"{label}: terminationGracePeriodSeconds {grace} > serve.shutdown_timeout_secs {cfg['serve']['shutdown_timeout_secs']}",
    )
    annotations = d["spec"]["template"]["metadata"].get("annotations", {})
    expect(
        re.fullmatch(r"[0-9a-f]{64}", annotations.get("checksum/config", "")) is not None,
        f"{label}: a checksum of the settings rolls the pods when they change",
    )
    mail = cfg["courier"]["file_dir"]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    expect(
        "emptyDir" in volumes.get(mounts.get(mail, ""), {}),
        f"{label}: courier.file_dir {mail} is an emptyDir",
    )
    secret = values.get("existingSecret") or d["metadata"]["name"]
    expect(
        {"secretRef": {"name": secret}} in c["envFrom"],
        f"{label}: secrets come as env from Secret {secret}",
    )
    svc = r.one("Service")
    labels = d["spec"]["template"]["metadata"]["labels"]
    expect(
        d["spec"]["selector"]["matchLabels"] == svc["spec"]["selector"]
        and all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
        f"{label}: the Service selects the server's pods",
    )
    svc_ports = {p["name"]: p["targetPort"] for p in svc["spec"]["ports"]}
    expect(svc_ports == {"http": "http", "grpc": "grpc"}, f"{label}: the Service exposes http and grpc")
    for job in r.kind("Job"):
        job_labels = job["spec"]["template"]["metadata"]["labels"]
        expect(
            not all(job_labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
            f"{label}: the Service does not select the migration Job's pod",
        )
    return d


def settings_file(label: str, r: Rendered, values: dict, schema: dict) -> dict:
    d = r.one("Deployment")
    settings = settings_of(r, d["metadata"]["name"])
    # The chart's own database.url (SQLite) is the only key beyond values.
    check = copy.deepcopy(settings)
    check.get("database", {}).pop("url", None)
    if check.get("database") == {}:
        check.pop("database")
    jsonschema.validate(check, schema["properties"]["config"])
    ok(f"{label}: the rendered keyplane.yaml holds only known settings, no secrets")
    return settings


# --------------------------------------------------------------------------
# The real binary, when built
# --------------------------------------------------------------------------


def keyplane_binary() -> Path | None:
    env = os.environ.get("KEYPLANE_BIN")
    candidates = [Path(env)] if env else []
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    candidates += [target / "release" / "keyplane", target / "debug" / "keyplane"]
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def binary_loads(label: str, r: Rendered, pod: dict) -> None:
    """Starts the binary as the pod's container would (its global arguments,
    its environment, the Secret's variables, the mounted settings file), with
    `migrate status` on a scratch SQLite file as the command."""
    binary = keyplane_binary()
    if binary is None:
        if os.environ.get("CI"):
            raise CheckFailed(f"{label}: no built keyplane binary in CI (.ci/run runs `make bin` first)")
        print(f"  --  {label}: no built keyplane binary (set KEYPLANE_BIN): the settings file was checked against the schema only")
        return
    c = pod["containers"][0]
    args = c["args"]
    command = next(i for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] != "--config"))
    cm = next(v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v)
    secret_env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        name = source.get("secretRef", {}).get("name")
        rendered = [d for d in r.kind("Secret") if d["metadata"]["name"] == name]
        if rendered:
            secret_env.update({k: base64.b64decode(v).decode() for k, v in (rendered[0].get("data") or {}).items()})
    with tempfile.TemporaryDirectory(prefix="kp-settings-") as tmp:
        path = Path(tmp) / "keyplane.yaml"
        path.write_text(r.one("ConfigMap", cm)["data"]["keyplane.yaml"])
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("KEYPLANE_") and k not in ("DATABASE_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "RUST_LOG")
        }
        env.update(secret_env)
        env.update({e["name"]: e["value"].replace(CONFIG_FILE, str(path)) for e in c.get("env", []) if "value" in e})
        # A scratch database: the settings are under test, not the database.
        env["KEYPLANE_DATABASE__URL"] = f"sqlite://{tmp}/check.db"
        argv = [str(binary)] + [a.replace(CONFIG_FILE, str(path)) for a in args[:command]] + ["migrate", "status"]
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    expect(
        proc.returncode == 0,
        f"{label}: {binary} starts as the {c['name']} container would and loads its settings"
        + (f" ({len(secret_env)} secret variables)" if secret_env else "")
        + ("" if proc.returncode == 0 else f": {proc.stderr.strip()}"),
    )


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


def case_defaults(schema: dict) -> None:
    label = "defaults"
    values = defaults()
    r = render(values)
    lint_clean(label, r)
    kubernetes_schemas(label, r)
    d = server_deployment(label, r, values)
    settings = settings_file(label, r, values, schema)
    c = container(d)
    expect(
        settings["database"]["url"] == "sqlite:///var/lib/keyplane/keyplane.db",
        f"{label}: SQLite at {settings['database']['url']}",
    )
    expect(
        d["spec"]["replicas"] == 1 and d["spec"]["strategy"] == {"type": "Recreate"},
        f"{label}: one replica, Recreate (one pod owns the SQLite file)",
    )
    expect(c["args"][2:] == ["serve"], f"{label}: SQLite: `serve` migrates at start, no Job")
    expect(not r.kind("Job"), f"{label}: no migration Job with SQLite")
    pvc = r.one("PersistentVolumeClaim")
    volumes = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
    expect(
        volumes["data"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        and pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep",
        f"{label}: the SQLite file is on a kept PersistentVolumeClaim",
    )
    secret = r.one("Secret")
    expect(secret.get("data") == {}, f"{label}: a Secret without entries (no secrets set)")
    expect(
        "checksum/secret" in d["spec"]["template"]["metadata"]["annotations"],
        f"{label}: a checksum of the Secret rolls the pods when it changes",
    )
    for kind in ("Ingress", "HorizontalPodAutoscaler", "ServiceMonitor"):
        expect(not r.kind(kind), f"{label}: no {kind} unless enabled")
    pdb = r.one("PodDisruptionBudget")
    expect(pdb["spec"].get("maxUnavailable") == 1 and "minAvailable" not in pdb["spec"], f"{label}: PDB maxUnavailable 1")
    sa = r.one("ServiceAccount")
    expect(
        sa["automountServiceAccountToken"] is False
        and d["spec"]["template"]["spec"]["serviceAccountName"] == sa["metadata"]["name"],
        f"{label}: own ServiceAccount, no API token mounted",
    )
    expect("port-forward" in r.notes and "/health/ready" in r.notes, f"{label}: NOTES.txt rendered")
    binary_loads(label, r, d["spec"]["template"]["spec"])


def case_replicas(schema: dict) -> None:
    label = "ci/replicas-values.yaml"
    over = yaml.safe_load(CI_VALUES.read_text())
    values = merge(defaults(), over)
    r = render(values)
    lint_clean(label, r)
    kubernetes_schemas(label, r)
    d = server_deployment(label, r, values)
    settings = settings_file(label, r, values, schema)
    c = container(d)
    name = d["metadata"]["name"]
    expect("replicas" not in d["spec"], f"{label}: the HPA owns the replica count")
    expect(
        d["spec"]["strategy"]["type"] == "RollingUpdate"
        and d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0,
        f"{label}: RollingUpdate with maxUnavailable 0",
    )
    expect(c["args"][2:] == ["serve", "--no-migrate"], f"{label}: pods run `serve --no-migrate`")
    expect("url" not in settings.get("database", {}), f"{label}: no database URL in the settings file")
    expect(not r.kind("Secret"), f"{label}: existingSecret: the chart creates no Secret")
    expect(
        "checksum/secret" not in d["spec"]["template"]["metadata"]["annotations"],
        f"{label}: no checksum of a Secret the chart does not render",
    )
    pod = d["spec"]["template"]["spec"]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    expect(
        anti["labelSelector"]["matchLabels"] == d["spec"]["selector"]["matchLabels"],
        f"{label}: hard pod anti-affinity over the server's pods",
    )
    spread = pod["topologySpreadConstraints"][0]
    expect(
        spread["labelSelector"]["matchLabels"] == d["spec"]["selector"]["matchLabels"],
        f"{label}: topology spread constraint got the pods' labelSelector",
    )
    expect(c["lifecycle"]["preStop"]["sleep"]["seconds"] == 5, f"{label}: lifecycle passed through")

    # The migration hook.
    job = r.one("Job")
    ja = job["metadata"]["annotations"]
    expect(
        ja["helm.sh/hook"] == "pre-install,pre-upgrade"
        and ja["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded",
        f"{label}: migration Job is a pre-install,pre-upgrade hook, deleted before re-creation and on success",
    )
    jpod = job["spec"]["template"]["spec"]
    jc = jpod["containers"][0]
    expect(jc["args"] == ["--config", CONFIG_FILE, "migrate", "up"], f"{label}: the Job runs `keyplane migrate up`")
    hardened_pod(f"{label} Job", jpod)
    expect(
        jc["envFrom"][0] == {"secretRef": {"name": values["existingSecret"]}},
        f"{label}: the Job reads existingSecret directly (it exists before the release)",
    )
    cm_name = next(v["configMap"]["name"] for v in jpod["volumes"] if "configMap" in v)
    hook_cm = r.one("ConfigMap", cm_name)
    ha = hook_cm["metadata"].get("annotations", {})
    expect(
        ha.get("helm.sh/hook") == "pre-install,pre-upgrade"
        and int(ha["helm.sh/hook-weight"]) < int(ja["helm.sh/hook-weight"]),
        f"{label}: the Job's settings copy is a hook with a lower weight than the Job",
    )
    expect(
        yaml.safe_load(hook_cm["data"]["keyplane.yaml"]) == settings,
        f"{label}: the Job loads the same settings as the pods",
    )
    expect(
        "serviceAccountName" not in jpod,
        f"{label}: the Job does not name the release's ServiceAccount (created after pre-install hooks)",
    )

    # Ingress.
    http_ing = r.one("Ingress", name)
    hosts = [rule["host"] for rule in http_ing["spec"]["rules"]]
    expect(
        hosts == ["api.example.com", "*.projects.example.com", "auth.shop.example", "login.other.example"],
        f"{label}: Ingress hosts: control plane, *.<base_domain>, custom hostnames",
    )
    expect(
        http_ing["spec"]["ingressClassName"] == "nginx"
        and http_ing["spec"]["tls"] == values["ingress"]["tls"]
        and http_ing["metadata"]["annotations"] == values["ingress"]["annotations"],
        f"{label}: Ingress className, TLS and annotations",
    )
    grpc_ing = r.one("Ingress", f"{name}-grpc")
    grpc_hosts = [rule["host"] for rule in grpc_ing["spec"]["rules"]]
    paths = {
        (p["path"], p["backend"]["service"]["port"]["name"])
        for rule in grpc_ing["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    expect(
        grpc_hosts == hosts[1:]
        and paths == {(f"/ory.keto.relation_tuples.v1alpha2.{s}Service", "grpc") for s in ("Read", "Write", "Check", "Expand", "Version")},
        f"{label}: gRPC Ingress routes the Keto services of the tenant hosts to the grpc port",
    )
    expect(
        grpc_ing["metadata"]["annotations"] == values["ingress"]["grpc"]["annotations"],
        f"{label}: gRPC Ingress carries only its own annotations",
    )

    # Scaling, disruption, metrics.
    hpa = r.one("HorizontalPodAutoscaler")
    metrics = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]}
    expect(
        hpa["apiVersion"] == "autoscaling/v2"
        and (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
        and metrics == {"cpu": 65, "memory": 80}
        and hpa["spec"]["scaleTargetRef"]["name"] == name,
        f"{label}: HPA autoscaling/v2 3..12 on CPU 65% and memory 80%",
    )
    pdb = r.one("PodDisruptionBudget")
    expect(
        pdb["spec"] == {"minAvailable": 2, "selector": d["spec"]["selector"]},
        f"{label}: PDB minAvailable 2 over the server's pods",
    )
    sm = r.one("ServiceMonitor")
    svc = r.one("Service")
    expect(
        sm["spec"]["endpoints"][0]["path"] == "/metrics/prometheus"
        and sm["spec"]["endpoints"][0]["port"] == "http"
        and all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items())
        and sm["metadata"]["labels"]["release"] == "prometheus",
        f"{label}: ServiceMonitor scrapes /metrics/prometheus on the Service's http port",
    )
    binary_loads(label, r, d["spec"]["template"]["spec"])
    binary_loads(f"{label} Job", r, job["spec"]["template"]["spec"])


def case_chart_secret(schema: dict) -> None:
    label = "postgres + chart Secret"
    values = merge(
        defaults(),
        {
            "replicaCount": 2,
            "database": {"driver": "postgres"},
            "secrets": {
                "databaseUrl": "postgres://kp:pw@pg:5432/keyplane",
                "redisUrl": "redis://redis:6379/0",
                "smtpUrl": "smtp://u:p@mail:587/",
                "encryptionKeys": ["k" * 43, "o" * 43],
                "stripeSecretKey": "sk_test_1",
                "stripeWebhookSecret": "whsec_1",
                "extra": {"KEYPLANE_IDENTITY__HAVEIBEENPWNED_URL": "https://pwned.internal"},
            },
        },
    )
    r = render(values)
    lint_clean(label, r)
    kubernetes_schemas(label, r)
    d = server_deployment(label, r, values)
    name = d["metadata"]["name"]
    want = {
        "KEYPLANE_DATABASE__URL": "postgres://kp:pw@pg:5432/keyplane",
        "KEYPLANE_REDIS__URL": "redis://redis:6379/0",
        "KEYPLANE_COURIER__SMTP_URL": "smtp://u:p@mail:587/",
        "KEYPLANE_ENCRYPTION__KEYS": f"[{'k' * 43},{'o' * 43}]",
        "KEYPLANE_BILLING__STRIPE_SECRET_KEY": "sk_test_1",
        "KEYPLANE_BILLING__STRIPE_WEBHOOK_SECRET": "whsec_1",
        "KEYPLANE_IDENTITY__HAVEIBEENPWNED_URL": "https://pwned.internal",
    }
    decoded = lambda s: {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
    expect(decoded(r.one("Secret", name)) == want, f"{label}: the Secret holds each secret as its KEYPLANE_* variable")
    job = r.one("Job")
    hook_secret_name = job["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"]
    hook_secret = r.one("Secret", hook_secret_name)
    expect(
        hook_secret_name != name
        and decoded(hook_secret) == want
        and hook_secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        and int(hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"])
        < int(job["metadata"]["annotations"]["helm.sh/hook-weight"]),
        f"{label}: the Job reads a hook copy of the Secret created before it",
    )
    settings_file(label, r, values, schema)
    binary_loads(label, r, d["spec"]["template"]["spec"])
    binary_loads(f"{label} Job", r, job["spec"]["template"]["spec"])


# Values that values.schema.json must refuse (Helm refuses to render them).
SCHEMA_REJECTS = {
    "an unknown top-level key": {"replicas": 3},
    "an unknown setting": {"config": {"serve": {"prot": 4000}}},
    "a secret in the settings file": {"config": {"redis": {"url": "redis://r:6379"}}},
    "a wrong type": {"replicaCount": "three"},
    "an unknown database driver": {"database": {"driver": "mysql"}},
    "a non-PostgreSQL database URL": {"secrets": {"databaseUrl": "mysql://x"}},
    "a short encryption key": {"secrets": {"encryptionKeys": ["short"]}},
    "gRPC on a random port": {"config": {"serve": {"grpc_port": 0}}},
    "a relative courier.file_dir": {"config": {"courier": {"file_dir": "./data/mail"}}},
    "a bad log format": {"config": {"log": {"format": "xml"}}},
    "an out-of-range bcrypt cost": {"config": {"identity": {"hasher": {"bcrypt_cost": 3}}}},
}

# Values the schema allows but the templates refuse (`fail`).
TEMPLATE_REJECTS = {
    "SQLite with 3 replicas": ({"replicaCount": 3}, "needs database.driver=postgres"),
    "SQLite with autoscaling": ({"autoscaling": {"enabled": True}}, "needs database.driver=postgres"),
    "PostgreSQL replicas without Redis": (
        {"replicaCount": 2, "database": {"driver": "postgres"}, "secrets": {"databaseUrl": "postgres://h/db"}},
        "needs Redis",
    ),
    "PostgreSQL without a URL": ({"database": {"driver": "postgres"}}, "needs secrets.databaseUrl or existingSecret"),
    "PostgreSQL without an encryption key": (
        {"database": {"driver": "postgres"}, "secrets": {"databaseUrl": "postgres://h/db"}},
        "needs secrets.encryptionKeys",
    ),
    "a Stripe key without its webhook secret": ({"secrets": {"stripeSecretKey": "sk_1"}}, "needs secrets.stripeWebhookSecret"),
    "a grace period shorter than the drain": ({"terminationGracePeriodSeconds": 30}, "must be larger than"),
    "both PDB bounds": ({"podDisruptionBudget": {"minAvailable": 1}}, "not both"),
    "KEYPLANE_CONFIG_FILE in extraEnv": (
        {"extraEnv": [{"name": "KEYPLANE_CONFIG_FILE", "value": "/etc/keyplane/keyplane.yaml"}]},
        "must not set KEYPLANE_CONFIG_FILE",
    ),
    "the control plane on a tenant host": (
        {"ingress": {"enabled": True, "controlPlaneHost": "api.projects.example.com"}},
        "a tenant host",
    ),
}


def case_rejections(schema: dict) -> None:
    bad_file = ROOT / ".ci" / "chart-bad-values.yaml"
    cases = dict(SCHEMA_REJECTS)
    cases[f"{bad_file.relative_to(ROOT)}"] = yaml.safe_load(bad_file.read_text())
    validator = jsonschema.Draft7Validator(schema)
    for what, over in cases.items():
        values = merge(defaults(), over)
        errors = list(validator.iter_errors(values))
        expect(bool(errors), f"schema: {what} is refused ({errors[0].message if errors else 'accepted!'})")
        r = render(values)
        refused = any(
            m.get("Severity", 0) >= 3 and m.get("Path") == "values.yaml" for m in r.lint.get("Messages") or []
        )
        expect(refused, f"helm: {what} is refused by values.schema.json (lint ERROR in values.yaml)")
    for what, (over, message) in TEMPLATE_REJECTS.items():
        values = merge(defaults(), over)
        expect(not list(validator.iter_errors(values)), f"schema: {what} passes the schema")
        r = render(values)
        expect(
            any(message in f for f in r.fails),
            f"template: {what} stops the install ({next((f for f in r.fails if message in f), r.fails)})",
        )


def app_version() -> None:
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    expect(
        chart["appVersion"] == workspace and chart["apiVersion"] == "v2",
        f"Chart.yaml: apiVersion v2, appVersion {chart['appVersion']} = workspace version {workspace}",
    )


def main() -> int:
    import helm_sdkpy

    print(f"chart check: {CHART.relative_to(ROOT)} with helm-sdkpy {helm_sdkpy.__version__} ({helm_sdkpy.get_version()})")
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    try:
        ok("values.schema.json is a valid draft-07 schema")
        app_version()
        jsonschema.validate(defaults(), schema)
        ok("values.yaml satisfies values.schema.json")
        case_defaults(schema)
        case_replicas(schema)
        case_chart_secret(schema)
        case_rejections(schema)
    except CheckFailed as e:
        print(f"FAIL {e}")
        print(f"chart: {checks} passed, 1 failed")
        return 1
    print(f"chart: {checks} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
