"""The report's parity gap: the target's shares across sensitive groups, before and after."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from synthloom.cli import app
from synthloom.report.fairness import parity

runner = CliRunner()


def _frame(n: int, yes_a: float, yes_b: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], n)
    chance = np.where(group == "A", yes_a, yes_b)
    return pd.DataFrame(
        {
            "group": group,
            "y": np.where(rng.random(n) < chance, "yes", "no"),
            "age": rng.integers(20, 60, n),
        }
    )


def test_the_gap_is_the_largest_difference_between_groups() -> None:
    frame = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4 + ["c"] * 2, "y": list("xxxyxyyyxy")})
    result = parity(frame, "y", ["g"])
    assert abs(result.gap - 0.5) < 1e-9  # P(x | a) 0.75 against P(x | b) 0.25
    assert result.sizes.to_dict() == {"a": 4, "b": 4, "c": 2}
    assert parity(frame[frame["g"] == "a"], "y", ["g"]).gap == 0.0  # one group: no gap


def test_the_report_shows_the_gap_before_and_after(tmp_path: Path) -> None:
    _frame(2000, 0.8, 0.2, 0).to_csv(tmp_path / "real.csv", index=False)
    _frame(2000, 0.5, 0.5, 1).to_csv(tmp_path / "synthetic.csv", index=False)
    out = tmp_path / "report"
    args = ["report", "--real", str(tmp_path / "real.csv")]
    args += ["--synthetic", str(tmp_path / "synthetic.csv"), "--output", str(out)]
    result = runner.invoke(app, [*args, "--fairness", "y: group"])
    assert result.exit_code == 0, result.output
    fairness = json.loads((out / "report.json").read_text())["fairness"]
    assert 0.55 < fairness["parity_gap_real"] < 0.65
    assert fairness["parity_gap_synthetic"] < 0.08
    assert "Fairness (statistical parity)" in (out / "report.html").read_text()
    bad = runner.invoke(app, [*args, "--overwrite", "--fairness", "nope: group"])
    assert bad.exit_code == 2 and "nope" in bad.output and "Traceback" not in bad.output


def test_fairness_leaves_the_rest_of_the_report_as_it_was() -> None:
    from synthloom.report import ReportOptions
    from synthloom.report.builder import compute_findings

    real, synthetic = _frame(400, 0.8, 0.2, 0), _frame(400, 0.5, 0.5, 1)
    options = ReportOptions(max_columns_univariate=2, max_columns_bivariate=2)
    plain = compute_findings(real, synthetic, options=options)
    fair = compute_findings(real, synthetic, options=replace(options, fairness=("age", ("group",))))
    assert fair.univariate_columns == plain.univariate_columns == ["group", "y"]
    assert fair.fairness is not None and plain.fairness is None
