"""The quality and privacy report on slices of UCI Adult: known cases and the three files.

Known cases (scores only, no files): identical data scores perfectly; independently shuffled
columns keep distribution stability but lose correlation stability; copies of training records
give a DCR share of 1 and a privacy warning. Then one report of copied records is written and
its HTML (opened in headless Chromium), PDF (read with pypdf) and JSON are checked.
"""

from __future__ import annotations

import json
import re
import subprocess
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthloom.errors import DataError
from synthloom.report import ReportOptions, ReportResult, build_report, compute_scores
from tests.conftest import ADULT_SAMPLE

CHROMIUM = Path("/usr/bin/chromium")
SECTION_TITLES = [
    "Overview",
    "Accuracy",
    "Univariate distributions",
    "Correlations",
    "PhiK correlations",
    "Deep structure",
    "Privacy (k-nearest neighbours)",
    "ML utility",
]


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two disjoint random slices of adult.csv: 1,000 training rows and 1,500 holdout rows.

    The holdout is not smaller than the training data, so the DCR comparison uses every
    training row (it samples both to the size of the smaller one).
    """
    frame = pd.read_csv(ADULT_SAMPLE).sample(frac=1, random_state=0).reset_index(drop=True)
    return frame.iloc[:1000].reset_index(drop=True), frame.iloc[1000:2500].reset_index(drop=True)


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame})


# --------------------------------------------------------------------------------------
# known cases
# --------------------------------------------------------------------------------------


def test_identical_data_scores_perfectly(adult: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    real, holdout = adult
    scores = compute_scores(real, real.copy(), holdout=holdout)
    quality = scores["quality"]
    assert quality["score"] == pytest.approx(100.0)
    assert quality["grade"] == "Excellent"
    for key in (
        "field_distribution_stability",
        "field_correlation_stability",
        "deep_structure_stability",
    ):
        assert quality[key] == pytest.approx(1.0)
    assert scores["accuracy"]["overall"] == pytest.approx(1.0)
    # the correlation and PhiK matrices are the same
    assert scores["correlations"]["real"] == scores["correlations"]["synthetic"]
    assert scores["phik"]["real"] == scores["phik"]["synthetic"]
    # real holdout data is good but not perfect: the ceiling lies below
    assert 85.0 < quality["holdout"]["score"] < 100.0
    # and identical data is, of course, a copy of the training data
    assert scores["privacy"]["verdict"]["level"] == "warning"


def test_shuffled_columns_keep_distributions_but_lose_correlations(
    adult: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    real, holdout = adult
    scores = compute_scores(real, _shuffled(real, 1), holdout=holdout)
    quality = scores["quality"]
    assert quality["field_distribution_stability"] == pytest.approx(1.0)
    assert quality["field_correlation_stability"] < 0.4
    assert quality["holdout"]["field_correlation_stability"] > 0.75
    assert quality["deep_structure_stability"] < quality["holdout"]["deep_structure_stability"]
    assert quality["score"] < quality["holdout"]["score"] - 15
    accuracy = scores["accuracy"]
    assert accuracy["univariate_mean"] == pytest.approx(1.0)
    assert accuracy["bivariate_mean"] < accuracy["holdout"]["bivariate_mean"]
    # shuffled records are new records: no privacy problem
    assert scores["privacy"]["verdict"]["level"] == "ok"
    assert abs(scores["privacy"]["dcr_share"] - 0.5) < 0.06


def test_copies_of_training_records_raise_a_privacy_warning(
    adult: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    real, holdout = adult
    copies = real.sample(600, random_state=2).reset_index(drop=True)
    privacy = compute_scores(real, copies, holdout=holdout)["privacy"]
    assert privacy["dcr_share"] > 0.99
    assert privacy["exact_copy_share"] == pytest.approx(1.0)
    assert privacy["dcr_training_median"] == 0.0
    assert privacy["verdict"]["level"] == "warning"
    assert privacy["verdict"]["headline"].startswith("PRIVACY WARNING")


def test_a_fresh_real_sample_is_private(adult: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    real, holdout = adult
    other = holdout.iloc[:500].reset_index(drop=True)
    scores = compute_scores(real, other, holdout=holdout.iloc[500:].reset_index(drop=True))
    assert scores["privacy"]["verdict"]["level"] == "ok"
    assert scores["quality"]["score"] > 85.0


# --------------------------------------------------------------------------------------
# the three files
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(
    adult: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> ReportResult:
    """A report of 600 copied training records (a privacy failure), target income.

    Ten columns keep it quick; the PhiK limit leaves one column out of that section.
    """
    real, holdout = adult
    columns = [
        "age",
        "workclass",
        "education",
        "marital_status",
        "occupation",
        "sex",
        "capital_gain",
        "hours_per_week",
        "native_country",
        "income",
    ]
    copies = real.sample(600, random_state=3).reset_index(drop=True)
    synthetic = copies[columns].assign(extra=1)
    options = ReportOptions(max_columns_phik=9, title="Adult & <copies>")
    output = tmp_path_factory.mktemp("report") / "out"
    return build_report(
        real[columns],
        synthetic,
        output,
        holdout=holdout[columns],
        target="income",
        options=options,
    )


def test_files_are_written_atomically(report: ReportResult) -> None:
    folder = report.html_path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.json", "report.pdf"]
    assert report.pdf_path.read_bytes().startswith(b"%PDF")


def test_json_holds_the_scores(report: ReportResult) -> None:
    scores: dict[str, Any] = json.loads(report.json_path.read_text(encoding="utf-8"))
    assert scores["report_version"] == 1
    assert scores == json.loads(json.dumps(report.scores))
    assert 0 <= scores["quality"]["score"] <= 100
    assert report.quality_score == scores["quality"]["score"]
    assert scores["privacy"]["verdict"]["level"] == report.privacy_level == "warning"
    assert report.warnings[0].startswith("PRIVACY WARNING")
    assert any("extra" in note for note in scores["data"]["notes"])
    assert len(scores["phik"]["columns"]) == 9
    assert scores["ml_utility"]["task"] == "classification"
    assert scores["ml_utility"]["metric"] == "roc_auc"
    assert scores["accuracy"]["holdout"]["overall"] > 0.8


def test_html_is_self_contained(report: ReportResult) -> None:
    html = report.html_path.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    images = re.findall(r'src="([^"]+)"', html)
    assert len(images) >= len(SECTION_TITLES)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "Adult &amp; &lt;copies&gt;" in html  # the title is escaped
    assert 'class="banner warning"' in html and "PRIVACY WARNING" in html
    for title in SECTION_TITLES:
        assert f"<h2>{title}" in html


def test_pdf_has_pages_for_every_section(report: ReportResult) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (a dev dependency) is not installed")
    pages = pypdf.PdfReader(report.pdf_path).pages
    texts = [page.extract_text() or "" for page in pages]
    assert len(pages) >= len(SECTION_TITLES)
    first_lines = [text.strip().splitlines()[0] if text.strip() else "" for text in texts]
    for title in SECTION_TITLES:
        assert title in first_lines, f"no page opens the section {title!r}"
    # each section page is followed by its charts, before the next section opens
    opening = [first_lines.index(title) for title in SECTION_TITLES]
    assert opening == sorted(opening)
    assert all(b - a >= 2 for a, b in pairwise(opening))
    assert "PRIVACY WARNING" in "\n".join(texts)


def _chromium(page: Path, screenshot: Path, profile: Path) -> list[str]:
    """Open ``page`` in headless Chromium, screenshot it, return its console messages."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
        f"--screenshot={screenshot}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    log = done.stdout + done.stderr
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless Chromium is not installed (apt-get install chromium chromium-driver)",
)
def test_html_opens_in_chromium_without_console_errors(
    report: ReportResult, tmp_path: Path
) -> None:
    # a page that breaks the rules shows that console messages are caught at all
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'\"></head><body>"
        '<img src="https://example.invalid/x.png"></body></html>',
        encoding="utf-8",
    )
    assert _chromium(bad, tmp_path / "bad.png", tmp_path / "profile-bad")

    screenshot = tmp_path / "report.png"
    messages = _chromium(report.html_path, screenshot, tmp_path / "profile")
    assert messages == []
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 50_000  # a real page of charts, not a blank one


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


def test_bad_input_raises_data_error(
    adult: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    real, _ = adult
    with pytest.raises(DataError, match="share no column"):
        build_report(real, pd.DataFrame({"nothing": [1, 2]}), tmp_path)
    with pytest.raises(DataError, match="no rows"):
        build_report(real, real.iloc[:0], tmp_path)
    with pytest.raises(DataError, match="target column 'salary'"):
        build_report(real, real, tmp_path, target="salary")
    assert list(tmp_path.iterdir()) == []
