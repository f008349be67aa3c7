"""Tables: fit a real table, generate rows of the right shape and types, seed, validate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthloom import ConfigError, DataError, TooManyInvalidError
from synthloom.config import Params, Validators
from synthloom.io.tables import read_table
from synthloom.synthesizers.base import table_params
from synthloom.synthesizers.table import TableSynthesizer
from synthloom.validation.field_validators import FieldValidators
from tests.conftest import ADULT_SAMPLE as ADULT

TINY_TABLE = {
    "epochs": 3,
    "rnn_units": 32,
    "embedding_dim": 16,
    "rnn_layers": 1,
    "batch_size": 128,
    "learning_rate": 0.01,
    "seed": 0,
}


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    frame, _ = read_table(ADULT)
    return frame.head(1500).reset_index(drop=True)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, adult: pd.DataFrame) -> TableSynthesizer:
    task = {"type": "seed", "attrs": {"fields": ["sex", "age"]}}
    options = {**TINY_TABLE, "epochs": 15, "batch_size": 64}
    return TableSynthesizer(**options, task=task).fit(
        adult, tmp_path_factory.mktemp("m") / "seeded"
    )


def test_rows_have_every_column_and_type(adult: pd.DataFrame, tmp_path: Path) -> None:
    synth = TableSynthesizer(**TINY_TABLE).fit(adult, tmp_path / "m")
    out = synth.generate(700, seed=1)
    assert len(out) == 700
    assert list(out.columns) == list(adult.columns)
    assert out.dtypes.astype(str).tolist() == adult.dtypes.astype(str).tolist()
    assert set(out["sex"].dropna()) <= set(adult["sex"])
    assert out["age"].between(adult["age"].min(), adult["age"].max()).all()
    # fnlwgt has thousands of values: bins + fine positions, so values are new but in range.
    assert out["fnlwgt"].between(adult["fnlwgt"].min(), adult["fnlwgt"].max()).all()
    assert out["fnlwgt"].nunique() > 300


def test_marginals_are_learned(adult: pd.DataFrame, tmp_path: Path) -> None:
    synth = TableSynthesizer(**{**TINY_TABLE, "epochs": 6}).fit(adult, tmp_path / "m")
    out = synth.generate(3000, seed=2)
    real = adult["relationship"].value_counts(normalize=True)
    fake = out["relationship"].value_counts(normalize=True).reindex(real.index, fill_value=0)
    assert (real - fake).abs().sum() / 2 < 0.1


def test_save_load_same_rows(seeded: TableSynthesizer) -> None:
    again = TableSynthesizer.load(seeded.model_dir)
    pd.testing.assert_frame_equal(seeded.generate(50, seed=4), again.generate(50, seed=4))


def test_seeds_are_kept_in_order_even_unseen(seeded: TableSynthesizer) -> None:
    seeds = pd.DataFrame({"sex": ["Female", "Male", "Martian", "Female"], "age": [23, 61, 40, 130]})
    out = seeded.generate(seeds=seeds, seed=3)
    assert len(out) == 4
    assert out["sex"].tolist() == seeds["sex"].tolist()
    assert out["age"].tolist() == seeds["age"].tolist()


def test_seeding_shifts_other_columns(seeded: TableSynthesizer) -> None:
    women = seeded.generate(
        seeds=pd.DataFrame({"sex": ["Female"] * 400, "age": [40] * 400}), seed=5
    )
    men = seeded.generate(seeds=pd.DataFrame({"sex": ["Male"] * 400, "age": [40] * 400}), seed=5)
    assert (women["relationship"] == "Husband").mean() < (men["relationship"] == "Husband").mean()


def test_bad_seeds(seeded: TableSynthesizer, tmp_path: Path, adult: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="numeric"):
        seeded.generate(seeds=pd.DataFrame({"sex": ["Male"], "age": ["old"]}))
    with pytest.raises(DataError, match=r"\['sexx'\] are not columns of the model"):
        seeded.generate(seeds=pd.DataFrame({"sexx": ["Male"]}))
    # some of the seed fields, or columns never declared: conditioned all the same
    assert (seeded.generate(seeds=pd.DataFrame({"sex": ["Male"] * 5}))["sex"] == "Male").all()
    plain = TableSynthesizer(**{**TINY_TABLE, "epochs": 1}).fit(adult, tmp_path / "plain")
    out = plain.generate(seeds=pd.DataFrame({"income": [">50K"] * 5}), seed=1)
    assert (out["income"] == ">50K").all() and len(out) == 5


def test_unknown_seed_field_in_config(adult: pd.DataFrame, tmp_path: Path) -> None:
    task = {"type": "seed", "attrs": {"fields": ["sexx"]}}
    with pytest.raises(ConfigError, match="sexx"):
        TableSynthesizer(**TINY_TABLE, task=task).fit(adult, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_max_invalid_with_real_validators(seeded: TableSynthesizer, adult: pd.DataFrame) -> None:
    # Validators learned from men only reject every generated woman. A copy of its own is
    # changed, so the shared fixture stays as trained.
    own = TableSynthesizer.load(seeded.model_dir)
    own._validators = FieldValidators.learn(adult[adult["sex"] == "Male"], Validators())
    with pytest.raises(TooManyInvalidError, match="max_invalid=3"):
        own.generate(200, max_invalid=3, seed=0)
    out = own.generate(100, max_invalid=10_000, seed=0)
    assert len(out) == 100 and (out["sex"] == "Male").all()
    assert any("sex" in e for e in own.invalid_examples_)


def test_header_only_and_interrupting_data_checks(tmp_path: Path, adult: pd.DataFrame) -> None:
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"no rows|header"):
        TableSynthesizer(**TINY_TABLE).fit(tmp_path / "h.csv", tmp_path / "m")
    messy = adult.head(200).assign(workclass=" " + adult["workclass"].head(200))
    with pytest.raises(DataError, match="workclass"):
        TableSynthesizer(**TINY_TABLE, data_checks={"strategy": "interrupt"}).fit(
            messy, tmp_path / "m"
        )
    assert not (tmp_path / "m").exists()


def test_rebalance_gives_requested_shares(seeded: TableSynthesizer) -> None:
    out = seeded.generate(400, rebalance={"sex": {"Female": 0.7}}, seed=6)
    assert len(out) == 400
    assert (out["sex"] == "Female").mean() == pytest.approx(0.7, abs=0.005)
    other = seeded.generate(400, rebalance={"income": {">50K": 0.5}}, seed=7)
    assert (other["income"] == ">50K").mean() == pytest.approx(0.5, abs=0.005)
    with pytest.raises(ConfigError, match="must be a categorical column"):
        seeded.generate(10, rebalance={"fnlwgt": {"1": 0.5}})
    with pytest.raises(ConfigError, match="sum to at most 1"):
        seeded.generate(10, rebalance={"sex": {"Female": 0.7, "Male": 0.6}})


def cross_cluster_accuracy(real: pd.DataFrame, fake: pd.DataFrame, clusters: list) -> float:
    """Mean bivariate accuracy over column pairs that two different clusters generate."""
    from synthloom.report.metrics import tvd_accuracy

    owner = {c: i for i, cluster in enumerate(clusters) for c in cluster.columns}
    pairs = tvd_accuracy(real, fake).bivariate
    cross = [v for (a, b), v in pairs.items() if owner[a] != owner[b]]
    return sum(cross) / len(cross)


def test_wide_table_is_clustered_and_keeps_cross_cluster_links(
    adult: pd.DataFrame, tmp_path: Path
) -> None:
    base = adult[["sex", "relationship", "marital_status", "income", "race"]].head(1200)
    wide = pd.concat(
        [base.add_suffix(f"_{k}") for k in range(12)], axis=1
    )  # 60 columns, copies of 5 real ones: strong links everywhere
    synth = TableSynthesizer(
        **{**TINY_TABLE, "epochs": 8, "batch_size": 64, "field_cluster_size": 20}
    )
    synth.fit(wide, tmp_path / "m")
    assert len(synth.clusters_) >= 3
    assert all(len(c.columns) + len(c.anchors) <= 20 for c in synth.clusters_)
    out = synth.generate(1000, seed=0)
    assert list(out.columns) == list(wide.columns)
    # An independent join of the clusters (each cluster's columns shuffled apart).
    rng = np.random.default_rng(0)
    independent = out.copy()
    for cluster in synth.clusters_[1:]:
        independent[cluster.columns] = (
            out[cluster.columns].iloc[rng.permutation(len(out))].to_numpy()
        )
    ours = cross_cluster_accuracy(wide, out, synth.clusters_)
    naive = cross_cluster_accuracy(wide, independent, synth.clusters_)
    assert ours > naive + 0.05
    reloaded = TableSynthesizer.load(tmp_path / "m")
    assert list(reloaded.generate(5, seed=1).columns) == list(wide.columns)


def test_amplify_engine_generates_seeded_rows(adult: pd.DataFrame, tmp_path: Path) -> None:
    task = {"type": "seed", "attrs": {"fields": ["sex"]}}
    TableSynthesizer(engine="amplify", task=task, seed=0).fit(adult, tmp_path / "m")
    assert not (tmp_path / "m" / "weights.safetensors").exists()
    summary = json.loads((tmp_path / "m" / "training_summary.json").read_text())
    assert summary["engine"] == "amplify" and summary["fallback_used"] is False
    loaded = TableSynthesizer.load(tmp_path / "m")
    out = loaded.generate(seeds=pd.DataFrame({"sex": ["Female", "Male"] * 50}), seed=1)
    assert out["sex"].tolist() == ["Female", "Male"] * 50
    assert list(out.columns) == list(adult.columns)
    assert out.dtypes.astype(str).tolist() == adult.dtypes.astype(str).tolist()


def test_failed_lstm_training_switches_to_fallback(
    adult: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fit(self, train, val):
        raise RuntimeError("loss became NaN")

    monkeypatch.setattr("synthloom.synthesizers.table.Trainer.fit", broken_fit)
    synth = TableSynthesizer(**TINY_TABLE).fit(adult, tmp_path / "m")
    summary = json.loads((tmp_path / "m" / "training_summary.json").read_text())
    assert summary["fallback_used"] is True and "NaN" in summary["fallback_reason"]
    out = TableSynthesizer.load(tmp_path / "m").generate(50, seed=0)
    assert len(out) == 50
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match="NaN"):
        monkeypatch.setattr("synthloom.synthesizers.table.Trainer.fit", broken_fit)
        TableSynthesizer(**TINY_TABLE, fallback={"allow": False}).fit(adult, tmp_path / "m2")
    assert synth.fallback_reason_ is not None


def test_too_many_invalid_lstm_rows_switch_to_fallback(
    seeded: TableSynthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthloom.synthesizers.table_sampling import GenerationRun as _Run

    real_draw = _Run._draw

    def bad_draw(self, n, seeds, free=None):
        frame = real_draw(self, n, seeds, free)
        frame["workclass"] = "Astronaut"  # outside the learned set: every row invalid
        return frame

    monkeypatch.setattr(_Run, "_draw", bad_draw)
    out = seeded.generate(40, max_invalid=10, seed=0)
    assert len(out) == 40 and "Astronaut" not in set(out["workclass"])
    stats = seeded.generation_stats_
    assert stats["fallback_records"] == 40
    assert "max_invalid" in stats["fallback_reason"]
    seeds = pd.DataFrame({"sex": ["Female"] * 5, "age": [33] * 5})
    out = seeded.generate(seeds=seeds, max_invalid=2, seed=0)
    assert out["sex"].tolist() == ["Female"] * 5 and out["age"].tolist() == [33] * 5


def test_empty_column_and_delimited_text(adult: pd.DataFrame, tmp_path: Path) -> None:
    from synthloom.config import SyntheticsConfig
    from synthloom.synthesizers.dispatch import synthesizer_for

    frame = adult.head(300)[["age", "sex", "income"]].assign(notes=pd.NA)
    path = tmp_path / "rows.txt"
    lines = [
        "|".join(map(str, row)) for row in frame[["age", "sex", "income"]].itertuples(index=False)
    ]
    path.write_text("age|sex|income\n" + "\n".join(lines) + "\n")
    config = SyntheticsConfig.from_options(**{**TINY_TABLE, "field_delimiter": "|"})
    synth = synthesizer_for(path, config)
    assert isinstance(synth, TableSynthesizer)
    synth.fit(path, tmp_path / "txt")
    assert list(synth.generate(20, seed=0).columns) == ["age", "sex", "income"]
    out = TableSynthesizer(**TINY_TABLE).fit(frame, tmp_path / "m").generate(30, seed=0)
    assert out["notes"].isna().all() and len(out) == 30


def test_table_defaults_fill_only_unset_options_and_keep_the_dp_settings_under_dp():
    plain = table_params(Params())
    assert (plain.rnn_layers, plain.learning_rate, plain.learning_rate_schedule) == (
        1,
        0.008,
        "budget",
    )
    private = table_params(Params(dp=True))
    assert (private.rnn_layers, private.learning_rate_schedule) == (1, "plateau")
    assert (private.epochs, private.learning_rate, private.validation_split) == (12, 0.01, False)
    assert table_params(Params(dp=True, epochs=40)).epochs == 40
    mine = table_params(Params(rnn_layers=3, learning_rate_schedule="constant"))
    assert (mine.rnn_layers, mine.learning_rate_schedule, mine.learning_rate) == (
        3,
        "constant",
        0.008,
    )


@pytest.mark.parametrize(
    ("options", "first"),
    [
        ({"validation_split": False}, "late"),
        ({}, 1),  # the default split
        ({"validation_split": 0.2}, 1),
        ({"dropout_rate": 0.2}, 1),
        ({"dp": True, "dp_epsilon": 50.0}, 1),
    ],
    ids=[
        "no validation rows: late",
        "default validation rows: from the start",
        "validation rows: from the start",
        "user's rate: from the start",
        "DP: from the start",
    ],
)
def test_table_dropout_starts_late_only_without_validation_rows(
    tmp_path: Path,
    adult: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    options: dict,
    first: object,
) -> None:
    import synthloom.synthesizers.table as table_module

    starts: list[int] = []
    original = table_module.Trainer.__init__

    def spy(self, *args, dropout_from_epoch: int = 1, **kwargs):  # type: ignore[no-untyped-def]
        starts.append(dropout_from_epoch)
        original(self, *args, dropout_from_epoch=dropout_from_epoch, **kwargs)

    monkeypatch.setattr(table_module.Trainer, "__init__", spy)
    columns = ["age", "sex", "race"]
    TableSynthesizer(**{**TINY_TABLE, "epochs": 1, **options}).fit(
        adult[columns].head(300), tmp_path / "m"
    )
    assert starts == [table_module.LATE_DROPOUT_EPOCH if first == "late" else first]


def test_a_table_model_holds_out_a_tenth_of_its_rows_by_default(
    tmp_path: Path, adult: pd.DataFrame
) -> None:
    """The held-out rows stop training before the rows are learned by heart and are the
    report's holdout; a user's false trains on every row."""
    import json

    frame = adult[["age", "sex", "race"]].head(300)
    for options, held_out in [({}, 30), ({"validation_split": False}, 0)]:
        folder = tmp_path / str(held_out)
        TableSynthesizer(**{**TINY_TABLE, "epochs": 1, **options}).fit(frame, folder)
        summary = json.loads((folder / "training_summary.json").read_text())
        assert summary["validation_records"] == held_out
