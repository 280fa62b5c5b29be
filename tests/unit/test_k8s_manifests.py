"""infra/k8s: valid against the Kubernetes JSON schemas (bundled by kubernetes-validate, so
offline) and consistent with each other and with the settings."""

from __future__ import annotations

import copy
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from chat_service.config import Settings

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install -e '.[dev]')"
)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra/k8s"
KUBERNETES_VERSION = "1.30"  # the oldest minor still in wide support
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
SETTING_NAMES = {f.name.upper() for f in fields(Settings)}


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _all() -> dict[tuple[str, str], dict]:
    return {
        (doc["kind"], doc["metadata"]["name"]): doc
        for path in MANIFESTS
        for doc in _documents(path)
    }


def _is_known_variable(name: str) -> bool:
    return name in SETTING_NAMES or name == "PROMETHEUS_MULTIPROC_DIR" or name.startswith("OTEL_")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schemas(path):
    for document in _documents(path):
        # strict: unknown fields (a typo, a field of another version) are errors too
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_misspelled_field():
    deployment = copy.deepcopy(_all()[("Deployment", "chat-service")])
    deployment["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_one_off_migration_job():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in MANIFESTS} - {"job-migrate.yaml"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_valid_manifests():
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert len(documents) == sum(len(_documents(K8S / resource)) for resource in resources)
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        assert document["metadata"].get("namespace", "chat-service") == "chat-service"


def test_the_deployment_probes_limits_and_shutdown_bound():
    objects = _all()
    config = objects[("ConfigMap", "chat-service")]["data"]
    pod = objects[("Deployment", "chat-service")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (port,) = container["ports"]
    assert port["containerPort"] == int(config["PORT"])
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": port["name"]}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    assert int(config["WORKERS"]) <= float(container["resources"]["limits"]["cpu"])
    pre_stop_s = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > int(config["SHUTDOWN_GRACE_S"]) + pre_stop_s
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    for name in ("PROMETHEUS_MULTIPROC_DIR", "DRAIN_FILE"):
        assert any(env[name].startswith(mount + "/") for mount in mounts), f"{name}: read-only"


def test_a_stopping_pod_turns_unready_before_its_pre_stop_wait_ends():
    container = _all()[("Deployment", "chat-service")]["spec"]["template"]["spec"]["containers"][0]
    hook = container["lifecycle"]["preStop"]["exec"]["command"]
    assert hook[:-1] == ["python", "-m", "chat_service.drain"]
    probe = container["readinessProbe"]
    unready_within_s = probe["periodSeconds"] * probe["failureThreshold"] + probe["timeoutSeconds"]
    assert unready_within_s <= int(hook[-1])


def test_service_autoscaler_and_budget_select_the_deployment_pods():
    objects = _all()
    deployment = objects[("Deployment", "chat-service")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    port_name = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"]
    service = objects[("Service", "chat-service")]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == port_name
    hpa = objects[("HorizontalPodAutoscaler", "chat-service")]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "chat-service",
    }
    pdb = objects[("PodDisruptionBudget", "chat-service")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["maxUnavailable"] == 1, "evictions go one pod at a time at any scale"
    assert hpa["minReplicas"] >= 2, "one pod out for a drain still leaves one serving"


def test_configmap_and_secret_hold_settings_that_parse():
    objects = _all()
    config = objects[("ConfigMap", "chat-service")]["data"]
    secret = objects[("Secret", "chat-service")]["stringData"]
    unknown = sorted(name for name in {*config, *secret} if not _is_known_variable(name))
    assert not unknown, f"not settings: {unknown}"
    settings = Settings.from_env({**config, **secret})
    assert settings.host == "0.0.0.0"
    assert not set(config) & {"MONGO_URI", "REDIS_URL", "OPENAI_API_KEY"}, "secrets in a ConfigMap"


def test_every_workload_runs_the_same_image_with_the_same_settings():
    pods = []
    for document in _all().values():
        if document["kind"] == "Deployment" or document["kind"] == "Job":
            pods.append(document["spec"]["template"]["spec"])
        elif document["kind"] == "CronJob":
            pods.append(document["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    assert len(pods) == 3
    images = {container["image"] for pod in pods for container in pod["containers"]}
    assert len(images) == 1
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            sources = [next(iter(source.values()))["name"] for source in container["envFrom"]]
            assert sources == ["chat-service", "chat-service"]
