"""Property-based: click accepts every valid training option unchanged and rejects every invalid one.

The build itself is replaced by a stub, so each example costs only click's parsing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import reportgen.build
from reportgen.cli import main
from reportgen.cli_options import CONFIG_FIELDS
from reportgen.config import BOUNDS, MAX_SEED, Bounds
from reportgen.errors import ReportgenError
from reportgen.experiments import FIXED_FIELDS, parse_plan
from reportgen.publish import BuildOutcome
from tests.conftest import make_results

EXAMPLES = settings(max_examples=40, deadline=None)

VALID = {
    "--epochs": st.integers(1, 10**9),
    "--batch-size": st.integers(1, 10**9),
    "--lr": st.floats(0, 1e6, exclude_min=True, allow_nan=False),
    "--momentum": st.floats(0, 1, exclude_max=True),
    "--seed": st.integers(0, MAX_SEED),
}
INVALID = {
    "--epochs": st.integers(max_value=0),
    "--batch-size": st.integers(max_value=0),
    "--lr": st.floats(max_value=0) | st.sampled_from([math.nan, math.inf]),
    "--momentum": st.floats(min_value=1)
    | st.floats(max_value=0, exclude_max=True)
    | st.just(math.nan),
    "--seed": st.integers(max_value=-1) | st.integers(min_value=MAX_SEED + 1),
}
FIELD = {
    "--epochs": "epochs",
    "--batch-size": "batch_size",
    "--lr": "lr",
    "--momentum": "momentum",
    "--seed": "seed",
}


class BuildStub:
    """Stands in for reportgen.build.build: records each config, trains nothing."""

    def __init__(self, tmp_path: Path) -> None:
        self.configs: list[Any] = []
        self._outcome = BuildOutcome(make_results(), tmp_path / "docs", tmp_path / "site")

    def __call__(self, config: Any, command: str, *_progress_and_given: Any) -> BuildOutcome:
        self.configs.append(config)
        return self._outcome


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Any:
    build_stub = BuildStub(tmp_path_factory.mktemp("stub"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reportgen.build, "build", build_stub)
        yield build_stub


def _invoke(options: dict[str, object]) -> Any:
    args = [f"{name}={value}" for name, value in options.items()]  # '=' keeps '-5' a value
    return CliRunner().invoke(main, ["build", "--quiet", *args])


@EXAMPLES
@given(st.fixed_dictionaries(VALID))
def test_valid_options_reach_the_config_unchanged(
    stub: BuildStub, options: dict[str, object]
) -> None:
    result = _invoke(options)
    assert result.exit_code == 0, result.output
    config = stub.configs[-1]
    for name, value in options.items():
        assert getattr(config, FIELD[name]) == value, name


@EXAMPLES
@given(
    st.sampled_from(sorted(INVALID)).flatmap(lambda name: st.tuples(st.just(name), INVALID[name]))
)
def test_invalid_options_are_rejected_by_name_before_any_work(
    stub: BuildStub, bad: tuple[str, object]
) -> None:
    name, value = bad
    calls = len(stub.configs)
    result = _invoke({name: value})
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{name}'" in result.output
    assert "Traceback" not in result.output
    assert len(stub.configs) == calls


def _edge_values(bounds: Bounds, integer: bool) -> tuple[list[float], list[float]]:
    """(values just inside the range, values just outside it) for a field's bounds."""
    step = 1 if integer else 1e-3
    inside = [bounds.low + step if bounds.low_open else bounds.low]
    outside = [bounds.low if bounds.low_open else bounds.low - step]
    if math.isfinite(bounds.high):
        inside.append(bounds.high - step if bounds.high_open else bounds.high)
        outside.append(bounds.high if bounds.high_open else bounds.high + step)
    if not integer:
        outside.append(math.nan)
    return inside, outside


def _plan_problem(name: str, value: float) -> str | None:
    variant = {"name": "x", name: value}
    try:
        parse_plan({"variants": [{"name": "baseline"}, variant]}, "test.toml")
    except ReportgenError as error:
        return str(error)
    return None


def test_a_width_no_machine_could_train_is_refused_before_any_work(stub: BuildStub) -> None:
    """--width 100000 asked torch for 360 GB, a traceback after loading the data."""
    result = _invoke({"--width": 100000})
    assert result.exit_code == 2 and "it must be from 1 to 256" in result.output


@pytest.mark.parametrize("name", sorted(set(BOUNDS) - FIXED_FIELDS))
def test_cli_and_experiments_files_accept_the_same_range(stub: BuildStub, name: str) -> None:
    """One table of bounds: a value the CLI takes, a TOML variant takes, and the reverse."""
    integer = str(CONFIG_FIELDS[name].type) == "int"
    inside, outside = _edge_values(BOUNDS[name], integer)
    flag = "--" + name.replace("_", "-")
    for value in inside:
        value = int(value) if integer else value
        assert _invoke({flag: value}).exit_code == 0, (flag, value)
        assert _plan_problem(name, value) is None, (name, value)
    for value in outside:
        value = int(value) if integer else value
        result = _invoke({flag: value})
        assert result.exit_code == 2 and BOUNDS[name].text() in result.output, (flag, value)
        assert f"must be {BOUNDS[name].text()}" in (_plan_problem(name, value) or ""), (name, value)
