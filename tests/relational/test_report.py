"""The relational report: per-table reports, HTML/PDF, real tables read again, no secrets."""

from __future__ import annotations

import base64
import html as markup
import json
import re
import shutil

import numpy as np
import pytest

from synthloom.errors import ConfigError, DataError
from synthloom.relational import RelationalSynthesizer, build_relational_report, read_database
from synthloom.relational.report import report_options
from synthloom.relational.report_metrics import table_children_counts

from .conftest import CHINOOK, chinook_config


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """Chinook employee → customer, trained from a copy of the SQLite file."""
    folder = tmp_path_factory.mktemp("small")
    source = folder / "chinook.sqlite"
    shutil.copy(CHINOOK, source)
    config = chinook_config(include_tables=["employee", "customer"])
    return RelationalSynthesizer(config).fit(source, folder / "model"), source


def _images(html: str) -> list[bytes]:
    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(image) for image in found]


def test_html_is_self_contained_with_histograms_and_correlations(
    lahman_model, lahman_folder, tmp_path
):
    schema, real = read_database(lahman_folder, lahman_model.config)
    synthetic = lahman_model.generate(len(real["People"]), seed=0)
    out = tmp_path / "report"
    scores = build_relational_report(real, synthetic, schema, out, per_table_reports=False)
    html = (out / "relational_report.html").read_text(encoding="utf-8")
    # self-contained: no script, no remote resource, a CSP that forbids loading any
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html
    # one children-per-parent histogram per foreign key, one chart per modelled link
    counts = scores["children_per_parent"]
    links = scores["parent_child_correlations"]
    images = _images(html)
    assert len(images) == len(counts) + len(links)
    assert all(image.startswith(b"\x89PNG") for image in images)
    text = markup.unescape(html)
    for name, found in counts.items():
        assert name in text and f"{100 * found['ks_complement']:.1f}%" in html
    for name, found in links.items():
        assert f"{name}: score {100 * found['score']:.1f}%" in text
    # the histogram's data: the real counts of Batting per player, zeros included
    fk = next(f for f in schema.tables["Batting"].foreign_keys if f.parent == "People")
    real_counts = table_children_counts(real, fk)
    assert len(real_counts) == len(real["People"])
    assert counts[fk.name]["real_mean"] == pytest.approx(real_counts.mean())
    # summary: every table, rows real and synthetic, originals marked
    for name in schema.tables:
        assert f"<td>{name}</td>" in html
    assert f"<td>{len(real['Batting']):,}</td>" in html
    assert scores["tables"]["TeamsFranchises"]["kind"] == "original"
    assert scores["tables"]["TeamsFranchises"]["note"] == "copied unchanged"
    assert (out / "relational_report.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((out / "relational_report.json").read_text())["referential_integrity"] == 1


def test_report_reads_the_recorded_source(small_model, tmp_path):
    synth, _ = small_model
    synthetic = synth.generate(10, seed=0)
    scores = synth.report(synthetic, tmp_path / "report", per_table_reports=False)
    assert scores["tables"]["customer"] == {
        "real_rows": 59,
        "synthetic_rows": len(synthetic["customer"]),
        "rows_left_out": 0,
        "kind": "synthesized",
    }
    assert set(scores["tvd_accuracy"]) == {"employee", "customer"}
    assert not (tmp_path / "report" / "customer").exists()
    # per-table report options are checked like the single-table report's
    with pytest.raises(ConfigError, match="max_columns_phik"):
        report_options(max_columns_phik=1)


def test_source_is_recorded_without_rows(small_model):
    synth, source = small_model
    meta = json.loads((synth.model_dir / "model_params.json").read_text())
    assert meta["source"] == {
        "kind": "database",
        "location": f"sqlite:///{source.resolve()}",
        "password": False,
        "config_dir": None,
    }
    # the model dir keeps no training rows for the report (no original or kept tables here)
    tables = [p for p in synth.model_dir.rglob("*") if p.suffix in (".parquet", ".csv")]
    assert tables == []
    real = RelationalSynthesizer.load(synth.model_dir).real_tables()
    assert len(real["customer"]) == 59 and len(real["employee"]) == 8


def test_database_password_is_never_stored(tmp_path):
    from synthloom.relational.sources import source_record

    record = source_record("postgresql+psycopg://me:s3cret@db:5432/shop?password=x&sslmode=require")
    assert record["password"] is True
    assert "s3cret" not in record["location"] and "password" not in record["location"]
    assert record["location"] == "postgresql+psycopg://me:***@db:5432/shop?sslmode=require"
    assert source_record("mysql+pymysql://me@db/shop")["password"] is False


def test_real_tables_errors(small_model, tmp_path):
    synth, _ = small_model
    again = RelationalSynthesizer.load(synth.model_dir)
    again.source_ = {**again.source_, "location": "postgresql+psycopg://me:***@db/x"}
    again.source_["password"] = True
    with pytest.raises(DataError, match=r"needed a password.*--report-source"):
        again.real_tables()
    again.source_ = None
    with pytest.raises(DataError, match="does not record where"):
        again.real_tables()
    # an explicit source works whatever was recorded
    assert set(again.real_tables(CHINOOK)) == {"employee", "customer"}
    with pytest.raises(DataError, match="does not exist"):
        again.real_tables(tmp_path / "gone.sqlite")


def test_plain_generate_refuses_a_relational_model_dir(small_model):
    from synthloom.synthesizers.dispatch import load_model

    synth, _ = small_model
    with pytest.raises(ConfigError, match=r"relational model.*synthloom relational generate"):
        load_model(synth.model_dir)


def test_children_counts_include_parents_without_children(small_model):
    synth, _ = small_model
    fk = synth.schema.tables["customer"].foreign_keys[0]
    real = synth.real_tables()
    counts = table_children_counts(real, fk)
    # Chinook: 59 customers spread over 3 of 8 employees
    assert counts.sum() == 59 and (counts == 0).sum() == 5
    assert np.array_equal(np.sort(counts)[-3:], [18, 20, 21])
