"""Rasa's own checks: the data validates cleanly and the test stories pass."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.servers import BIN, ROOT


def _rasa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "rasa"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())},
    )


def test_rasa_data_validate_has_no_warnings() -> None:
    result = _rasa(
        "data", "validate", "--domain", "domain", "--data", "data", "--config", "config.yml", "--fail-on-warnings"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "UserWarning" not in output
    assert "No story structure conflicts found" in output


def test_test_stories_pass(trained_model: Path, tmp_path: Path) -> None:
    # Test stories predict actions without running them, and keep their
    # conversations in memory: the project's endpoints.yml is for servers.
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("{}\n")
    result = _rasa(
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        "tests/stories",
        "--endpoints",
        str(endpoints),
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    report = (tmp_path / "story_report.json").read_text()
    assert '"conversation_accuracy"' in report or "accuracy" in report
    failed = tmp_path / "failed_test_stories.yml"
    assert not (ROOT / "${SEN_TRACKER_DB}").exists()
    assert (
        not failed.exists()
        or "stories: []" in failed.read_text()
        or failed.read_text().strip().endswith("None of the test stories failed - all good!")
    )
