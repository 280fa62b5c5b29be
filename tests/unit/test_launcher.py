"""The launcher: uvicorn's command line from the serving settings, the metrics directory."""

from __future__ import annotations

import json
import logging
import logging.config
from pathlib import Path

import pytest
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string
from uvicorn.main import main as uvicorn_command

from chat_service.config import Settings, SettingsError
from chat_service.edge.http_protocol import HeaderLimitedHttpToolsProtocol
from chat_service.launcher import (
    APP_FACTORY,
    HTTP_PROTOCOL,
    MULTIPROCESS_DIR_VARIABLE,
    prepare_multiprocess_dir,
    uvicorn_argv,
)
from chat_service.observability.logs import UVICORN_LOG_CONFIG


def _uvicorn_options(argv: list[str]) -> dict:
    """Parses `argv` with uvicorn's own command-line parser (raises on unknown options)."""
    assert argv[1:3] == ["-m", "uvicorn"]
    context = uvicorn_command.make_context("uvicorn", argv[3:])
    return dict(context.params)


def test_serving_settings_defaults_and_environment():
    defaults = Settings()
    assert (defaults.workers, defaults.shutdown_grace_s) == (1, 30)
    assert (defaults.max_header_bytes, defaults.header_timeout_s) == (65_536, 10.0)
    settings = Settings.from_env(
        {
            "WORKERS": "4",
            "SHUTDOWN_GRACE_S": "5",
            "MAX_HEADER_BYTES": "16384",
            "HEADER_TIMEOUT_S": "2.5",
        }
    )
    assert (settings.workers, settings.shutdown_grace_s) == (4, 5)
    assert (settings.max_header_bytes, settings.header_timeout_s) == (16384, 2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKERS", "0"),
        ("WORKERS", "two"),
        ("SHUTDOWN_GRACE_S", "-1"),
        ("MAX_HEADER_BYTES", "0"),
        ("HEADER_TIMEOUT_S", "0"),
        ("HEADER_TIMEOUT_S", "soon"),
    ],
)
def test_unusable_serving_settings_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_one_worker_runs_the_factory_with_the_grace_period_and_default_loop():
    argv = uvicorn_argv(Settings(host="0.0.0.0", port=9000, shutdown_grace_s=12), python="py")
    assert argv[0] == "py"
    options = _uvicorn_options(argv)
    assert options["app"] == APP_FACTORY
    assert options["factory"] is True
    assert (options["host"], options["port"]) == ("0.0.0.0", 9000)
    assert options["timeout_graceful_shutdown"] == 12
    assert options["access_log"] is False
    # Rate limits key on the client address that TRUSTED_PROXIES alone decides.
    assert options["proxy_headers"] is False
    assert options["workers"] is None
    assert options["loop"] == "auto"


@pytest.mark.parametrize("workers", [1, 3])
def test_requests_go_through_the_protocol_that_bounds_headers(workers):
    options = _uvicorn_options(uvicorn_argv(Settings(workers=workers)))
    assert options["http"] == HTTP_PROTOCOL
    # uvicorn resolves --http the way it does in each worker.
    assert import_from_string(HTTP_PROTOCOLS.get(HTTP_PROTOCOL, HTTP_PROTOCOL)) is (
        HeaderLimitedHttpToolsProtocol
    )


def test_several_workers_use_uvloop():
    options = _uvicorn_options(uvicorn_argv(Settings(workers=3)))
    assert options["workers"] == 3
    assert options["loop"] == "uvloop"


def test_one_worker_without_a_directory_keeps_metrics_in_memory(tmp_path):
    environ: dict[str, str] = {}
    assert prepare_multiprocess_dir(environ, workers=1) is None
    assert environ == {}


def test_several_workers_without_a_directory_get_a_fresh_one():
    environ: dict[str, str] = {}
    directory = prepare_multiprocess_dir(environ, workers=2)
    assert directory is not None
    try:
        assert environ[MULTIPROCESS_DIR_VARIABLE] == str(directory)
        assert directory.is_dir()
        assert list(directory.iterdir()) == []
    finally:
        directory.rmdir()


def test_a_set_directory_loses_only_the_metric_files_of_an_earlier_run(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1234.db").write_bytes(b"old samples")
    (directory / "histogram_1234.db").write_bytes(b"old samples")
    (directory / "README").write_text("kept")
    environ = {MULTIPROCESS_DIR_VARIABLE: str(directory)}
    assert prepare_multiprocess_dir(environ, workers=1) == directory
    assert sorted(p.name for p in directory.iterdir()) == ["README"]


def test_a_set_directory_that_does_not_exist_is_created(tmp_path):
    directory = tmp_path / "a" / "b"
    assert prepare_multiprocess_dir({MULTIPROCESS_DIR_VARIABLE: str(directory)}, workers=4)
    assert directory.is_dir()


def test_uvicorn_logs_json_at_the_log_level_without_its_access_log():
    options = _uvicorn_options(uvicorn_argv(Settings(log_level="WARNING")))
    assert options["log_level"] == "warning"
    assert options["access_log"] is False
    assert Path(options["log_config"]) == UVICORN_LOG_CONFIG


def test_uvicorn_s_own_lines_are_json_and_redacted(capsys):
    # As the supervisor of several workers logs, before any app exists.
    saved = {name: _logger_state(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    try:
        logging.config.dictConfig(json.loads(UVICORN_LOG_CONFIG.read_text()))
        logging.getLogger("uvicorn.error").info(
            "Started parent process [%d] for %s", 42, "redis://user:hunter22@cache:6379"
        )
        logging.getLogger("uvicorn.access").info("GET / 200")
    finally:
        for name, state in saved.items():
            _restore(name, state)
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"]) == ("INFO", "uvicorn.error")
    assert record["message"] == "Started parent process [42] for redis://user:***@cache:6379"


def _logger_state(name):
    logger = logging.getLogger(name)
    return list(logger.handlers), logger.propagate, logger.level, logger.disabled


def _restore(name, state):
    logger = logging.getLogger(name)
    logger.handlers[:], logger.propagate, logger.level, logger.disabled = state
