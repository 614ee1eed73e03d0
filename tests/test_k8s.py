"""deploy/k8s against the Kubernetes API schemas (kubernetes-validate, offline, strict: an
unknown field fails), and the wiring between the manifests that no schema sees: selectors
that match, probes on the hub's health check, a grace period longer than the drain, the
settings the hub reads. Never applied to a cluster: there is none on this machine."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from hub.config import Settings

K8S = Path(__file__).resolve().parent.parent / "deploy" / "k8s"
VERSION = "1.30.0"  # the oldest release with the preStop `sleep` action the hub uses


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def _all() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = {}
    for name in kustomization["resources"]:
        for doc in _docs(name):
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def _validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk - listed == {"secret.example.yaml"}
    assert listed <= on_disk


@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("*.yaml")))
def test_every_manifest_passes_the_strict_schema(name: str) -> None:
    if name == "kustomization.yaml":
        return  # not a Kubernetes resource: its resources are checked one by one
    for doc in _docs(name):
        _validate(doc)


def test_the_validator_refuses_what_it_should() -> None:
    deployment = copy.deepcopy(_all()[("Deployment", "hub")])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProb"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    deployment = copy.deepcopy(_all()[("Deployment", "hub")])
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_the_wiring() -> None:
    docs = _all()
    hub, worker = docs[("Deployment", "hub")], docs[("Deployment", "hub-worker")]
    job = docs[("Job", "hub-migrate-0-1-0")]
    labels = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for name, d in (("hub", hub), ("hub-worker", worker))
    }
    for (kind, _), doc in docs.items():
        assert doc["metadata"].get("namespace", "whistle-hub") == "whistle-hub"
        if kind in ("Service", "PodDisruptionBudget"):
            selector = doc["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            assert any(selector.items() <= pod.items() for pod in labels.values()), doc
    for name, deployment in (("hub", hub), ("hub-worker", worker)):
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels[name].items()
    assert _container(hub)["command"] == ["hub", "serve", "--no-migrate"]
    assert _container(worker)["command"][:2] == ["hub", "worker"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["hub", "migrate"]
    images = {_container(hub)["image"], _container(worker)["image"]}
    images.add(job["spec"]["template"]["spec"]["containers"][0]["image"])
    assert len(images) == 1, "one release: the same image everywhere"

    serving = _container(hub)
    assert serving["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert serving["livenessProbe"]["httpGet"]["path"] == "/healthz"
    drain = serving["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert hub["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= drain + 10
    assert serving["resources"]["requests"]["cpu"] == "1"  # one uvicorn worker, one core

    hpa = docs[("HorizontalPodAutoscaler", "hub")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "hub"
    assert hpa["spec"]["minReplicas"] >= 2
    backend = docs[("Ingress", "hub")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert ("Service", backend["service"]["name"]) in docs
    annotations = docs[("Ingress", "hub")]["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_the_settings_are_the_hubs() -> None:
    config = _all()[("ConfigMap", "hub-settings")]["data"]
    secret = _docs("secret.example.yaml")[0]["stringData"]
    env = {**config, **secret}
    fields = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert config["HUB_SLA_IN_PROCESS"] == "false"  # the timers run in the workers
    settings = Settings(**{k.removeprefix("HUB_").lower(): v for k, v in env.items()})
    assert settings.mode == "production" and not settings.sla_in_process
    for doc in ("hub", "hub-worker"):
        refs = _container(_all()[("Deployment", doc)])["envFrom"]
        assert {r.get("configMapRef", r.get("secretRef"))["name"] for r in refs} == {
            "hub-settings",
            "hub-secrets",
        }
