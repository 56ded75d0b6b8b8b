"""Contract tests generated from the runner registry."""
import platform

import pytest

from mobilekit.parity.runners.base import GATE_RUNNERS, RUNNERS, gate_runner


@pytest.mark.parametrize("name", RUNNERS.names())
def test_every_runner_declares_target_and_availability(name):
    runner = RUNNERS.get(name)
    assert runner.name == name and runner.target in GATE_RUNNERS and runner.description
    reason = runner.unavailable_reason()
    assert reason is None or isinstance(reason, str)
    if name.startswith("coreml-macos") and platform.system() != "Darwin":
        assert "macOS" in reason


@pytest.mark.parametrize("target", sorted(GATE_RUNNERS))
def test_every_target_has_an_available_gate_runner_here(target):
    runner, skipped = gate_runner(target)
    assert runner is not None, skipped
