"""Generation settings of a relational model: the root table's rebalance, the batch size."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.errors import ConfigError
from synthloom.relational import RelationalSynthesizer
from synthloom.synthesizers.table import TableSynthesizer

from .conftest import CHINOOK, chinook_config

# customer (root) → invoice; USA is 13 of the 59 real customers.
SHOP = {
    "include_tables": ["customer", "invoice"],
    "generate": {"rebalance": {"country": {"USA": 0.5}}},
}


@pytest.fixture(scope="module")
def rebalanced(tmp_path_factory: pytest.TempPathFactory) -> RelationalSynthesizer:
    config = chinook_config(**SHOP)
    del config["tables"]["customer"]["foreign_keys"]  # employee is not included
    model_dir = tmp_path_factory.mktemp("rebalance") / "model"
    return RelationalSynthesizer(config).fit(CHINOOK, model_dir)


def test_root_rebalance_from_the_config_and_the_call(rebalanced, tmp_path: Path) -> None:
    customers = rebalanced.generate(40, seed=1)["customer"]
    assert (customers["country"] == "USA").sum() == 20
    loaded = RelationalSynthesizer.load(rebalanced.model_dir)
    tables = loaded.generate(40, seed=1, rebalance={"country": {"Canada": 0.25}})
    assert (tables["customer"]["country"] == "Canada").sum() == 10
    assert (tables["customer"]["country"] == "USA").sum() < 20
    assert tables["invoice"]["customer"].isin(tables["customer"]["id"]).all()


def test_rebalance_of_a_column_not_trained_for_it(rebalanced) -> None:
    with pytest.raises(ConfigError, match="root table customer was trained without it"):
        rebalanced.generate(10, rebalance={"city": {"Paris": 0.5}})


def test_rebalance_must_name_a_root_column(tmp_path: Path) -> None:
    config = chinook_config(
        include_tables=["customer", "invoice"],
        generate={"rebalance": {"billingcountry": {"USA": 0.5}}},
    )
    del config["tables"]["customer"]["foreign_keys"]
    with pytest.raises(ConfigError, match="not a synthesized column of the root table customer"):
        RelationalSynthesizer(config).fit(CHINOOK, tmp_path / "m")
    assert not (tmp_path / "m").exists()
    with pytest.raises(ConfigError, match="sum to at most 1"):
        RelationalSynthesizer(chinook_config(generate={"rebalance": {"country": {"USA": 1.5}}}))


def test_batch_size_reaches_every_table_model(rebalanced, monkeypatch) -> None:
    seen: list[int | None] = []
    generate = TableSynthesizer.generate

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs.get("predict_batch_size"))
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(TableSynthesizer, "generate", spy)
    rebalanced.generate(10, seed=2, predict_batch_size=4096)
    assert seen.count(4096) == 2  # customer and invoice rows (not the count model)


def test_cli_rebalance_and_batch_size(rebalanced, tmp_path: Path) -> None:
    import pandas as pd
    from typer.testing import CliRunner

    from synthloom.cli import app

    args = ["relational", "generate", "--model-dir", str(rebalanced.model_dir), "--no-report"]
    args += ["--num-records", "20", "--destination", str(tmp_path / "out")]
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--rebalance", "country: Canada=0.5", "--batch-size", "9"])
    assert result.exit_code == 0, result.output
    assert (pd.read_csv(tmp_path / "out" / "customer.csv")["country"] == "Canada").sum() == 10
    result = runner.invoke(app, [*args, "--rebalance", "country Canada=0.5", "--overwrite"])
    assert result.exit_code == 2 and "column: value=share" in result.output
    assert "Traceback" not in result.output


def test_rebalance_text_round_trip() -> None:
    from synthloom.config import parse_rebalance, rebalance_text

    parsed = parse_rebalance(" country : USA=0.5, Canada = 0.25 ")
    assert parsed == {"country": {"USA": 0.5, "Canada": 0.25}}
    assert parse_rebalance(rebalance_text(parsed)) == parsed
    assert parse_rebalance("  ") is None
    for bad in ("country", "country: USA", "country: USA=x", ": USA=0.5"):
        with pytest.raises(ConfigError, match="value=share"):
            parse_rebalance(bad)
    with pytest.raises(ConfigError, match="sum to at most 1"):
        parse_rebalance("country: USA=0.7, Canada=0.6")
