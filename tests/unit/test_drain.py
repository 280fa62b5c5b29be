"""The drain marker: the preStop hook creates it, the launcher clears it, /ready reads it."""

from __future__ import annotations

from chat_service.drain import clear_drain_marker, is_draining, main


def test_the_hook_marks_the_instance_then_waits(tmp_path, monkeypatch):
    marker = tmp_path / "drain" / "draining"
    monkeypatch.setenv("DRAIN_FILE", str(marker))
    slept = []

    assert main(["5"], sleep=slept.append) == 0

    assert marker.exists()
    assert is_draining(str(marker))
    assert slept == [5.0]


def test_without_a_drain_file_the_hook_only_waits(monkeypatch, capsys):
    monkeypatch.delenv("DRAIN_FILE", raising=False)
    slept = []

    assert main(["2"], sleep=slept.append) == 0

    assert slept == [2.0]
    assert "DRAIN_FILE is not set" in capsys.readouterr().err
    assert not is_draining("")


def test_clearing_removes_a_marker_left_behind_and_tolerates_none(tmp_path):
    marker = tmp_path / "draining"
    marker.touch()

    clear_drain_marker(str(marker))
    clear_drain_marker(str(marker))
    clear_drain_marker("")

    assert not is_draining(str(marker))
