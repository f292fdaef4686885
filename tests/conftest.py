"""Shared test set-up.

- Hypothesis profiles: ``ci`` (default, derandomized, reproducible, CI-sized) and ``slow``
  (searches harder locally: ``HYPOTHESIS_PROFILE=slow make test``).
- ``cli_error_line``: the one error line a refused ``ltbounds COMMAND`` call prints (shared by the CLI tests).
- One torch intra-op thread for the whole suite: the tests use tiny tensors and models, where
  OpenMP threads only add synchronisation (10-100x slower on a loaded 2-core machine), and one
  thread keeps the forked DDP workers of test_distributed.py fork-safe.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(1)

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "slow",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def cli_error_line(capsys):
    """``cli_error_line(command)``: reads what the test's ``capsys`` captured since it last read, asserts stderr
    holds exactly one non-blank line, starting ``ltbounds COMMAND: error: `` (the CLI's one-line refusal), and
    returns that line."""

    def read(command: str) -> str:
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"ltbounds {command}: error: "), lines
        return lines[0]

    return read
