"""docker-compose.yml and the files it mounts, checked statically (no Docker engine here):
every reference resolves, and the app's ports and environment agree with the settings."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from chat_service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTING_NAMES = {f.name.upper() for f in fields(Settings)}
# Variables the app reads through libraries rather than Settings.
EXTERNAL_PREFIXES = ("OTEL_",)
EXTERNAL_NAMES = {"PROMETHEUS_MULTIPROC_DIR"}
_DEFAULTED = re.compile(r"\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


def _load(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return _load(ROOT / "docker-compose.yml")


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _interpolate(value: object) -> str:
    """Returns `value` as `docker compose` would with nothing set: `${X:-d}` becomes d."""
    return _DEFAULTED.sub(lambda m: m["default"] or "", str(value))


def _app_environment(services) -> dict[str, str]:
    return {name: _interpolate(value) for name, value in services["app"]["environment"].items()}


def _is_known_variable(name: str) -> bool:
    return name in SETTING_NAMES or name in EXTERNAL_NAMES or name.startswith(EXTERNAL_PREFIXES)


def _bind_mounts(service: dict) -> list[tuple[Path, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts.append((ROOT / source, target))
    return mounts


def test_the_stack_has_the_app_its_stores_and_its_observability(services):
    assert {"app", "migrate", "mongo", "redis", "prometheus", "grafana", "otel-collector"} <= set(
        services
    )
    assert services["mongo"]["image"] == "mongo:7"
    assert services["redis"]["image"].startswith("redis:7")


def test_every_service_has_an_image_or_a_build_that_exists(services):
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_bind_mounts_point_into_the_repository(services):
    mounts = [mount for service in services.values() for mount in _bind_mounts(service)]
    assert mounts
    for source, _ in mounts:
        assert source.exists(), source


def test_dependencies_exist_and_waited_on_health_is_checked(compose, services):
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
    named_volumes = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if not volume.startswith(".")
    }
    assert named_volumes <= set(compose["volumes"])


def test_the_app_environment_is_made_of_settings_that_parse(services):
    environment = _app_environment(services)
    unknown = sorted(name for name in environment if not _is_known_variable(name))
    assert not unknown, f"not settings: {unknown}"
    assert services["migrate"]["environment"] == services["app"]["environment"]
    settings = Settings.from_env(environment)
    assert settings.host == "0.0.0.0"
    published = [str(port).split(":")[-1] for port in services["app"]["ports"]]
    assert str(settings.port) in published


def test_the_app_reaches_the_services_by_their_names(services):
    environment = _app_environment(services)
    settings = Settings.from_env(environment)
    assert urlsplit(settings.redis_url).hostname in services
    assert urlsplit(settings.mongo_uri).hostname in services
    # Transactions need a replica set: the URI names it and mongod is started as one.
    assert "replicaSet=rs0" in settings.mongo_uri
    assert "--replSet" in services["mongo"]["command"]
    otlp = urlsplit(environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert otlp.hostname == "otel-collector"
    collector = _load(ROOT / "infra/otel-collector/config.yaml")
    http_receiver = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http_receiver.endswith(f":{otlp.port}")
    exporter = collector["exporters"]["otlp/jaeger"]["endpoint"]
    assert exporter.split(":")[0] in services
    assert collector["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]


def test_docker_waits_longer_than_the_graceful_shutdown(services):
    settings = Settings.from_env(_app_environment(services))
    grace = int(services["app"]["stop_grace_period"].removesuffix("s"))
    assert grace > settings.shutdown_grace_s


def test_prometheus_scrapes_the_app_and_loads_the_rules(services):
    environment = _app_environment(services)
    config_dir = next(
        source
        for source, target in _bind_mounts(services["prometheus"])
        if target == "/etc/prometheus"
    )
    config = _load(config_dir / "prometheus.yml")
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "chat-service")
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"app:{environment['PORT']}"]
    for rule_file in config["rule_files"]:
        assert (config_dir / rule_file).is_file()


def test_grafana_gets_the_prometheus_datasource_and_the_dashboard(services):
    mounts = dict((target, source) for source, target in _bind_mounts(services["grafana"]))
    provisioning = mounts["/etc/grafana/provisioning"]
    datasource = _load(provisioning / "datasources/prometheus.yml")["datasources"][0]
    url = urlsplit(datasource["url"])
    assert url.hostname == "prometheus"
    assert f"{url.port}:{url.port}" in services["prometheus"]["ports"]
    provider = _load(provisioning / "dashboards/chat-service.yml")["providers"][0]
    dashboards = mounts[provider["options"]["path"]]
    assert (dashboards / "chat-service.json").is_file()
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/chat-service.json"
