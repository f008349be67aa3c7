"""Training: whole records, held-out split, early stopping, limits, checkpoints, Ctrl-C."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from synthloom import EpochState, ModelDirError, TextSynthesizer
from synthloom.lstm.train import split_holdout
from tests.conftest import TINY


def test_loss_goes_down_and_history_is_written(tmp_path: Path, short_fortunes: list[str]) -> None:
    states: list[EpochState] = []
    synth = TextSynthesizer(**{**TINY, "epochs": 4, "validation_split": True})
    synth.fit(short_fortunes, tmp_path / "m", epoch_callback=states.append)
    assert [s.epoch for s in states] == [1, 2, 3, 4]
    assert states[-1].loss < states[0].loss
    assert states[-1].val_loss is not None and states[-1].val_loss < states[0].val_loss
    assert all(s.val_accuracy is not None and 0 <= s.val_accuracy <= 1 for s in states)
    with (tmp_path / "m" / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert {
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "epsilon",
        "delta",
        "best",
    } <= set(rows[0])
    summary = json.loads((tmp_path / "m" / "training_summary.json").read_text())
    assert summary["validation_records"] == 60 and summary["training_records"] == 240


def test_holdout_is_disjoint_and_by_record() -> None:
    train, val = split_holdout(100, 0.2, np.random.default_rng(0))
    assert len(val) == 20 and len(train) == 80
    assert not set(train) & set(val)
    assert sorted([*train, *val]) == list(range(100))


def test_model_params_written_before_training(tmp_path: Path, short_fortunes: list[str]) -> None:
    seen = []
    TextSynthesizer(**{**TINY, "epochs": 1}).fit(
        short_fortunes,
        tmp_path / "m",
        epoch_callback=lambda s: seen.append((tmp_path / "m" / "model_params.json").exists()),
    )
    assert seen == [True]
    params = json.loads((tmp_path / "m" / "model_params.json").read_text())
    assert params["config"]["params"]["rnn_units"] == TINY["rnn_units"]


def test_early_stopping_stops_and_restores_best(tmp_path: Path, short_fortunes: list[str]) -> None:
    # A min_delta larger than any improvement: epoch 1 stays best, patience 1 stops at 2.
    synth = TextSynthesizer(
        **{**TINY, "epochs": 10, "early_stopping_patience": 1, "early_stopping_min_delta": 100.0}
    )
    synth.fit(short_fortunes, tmp_path / "m")
    result = synth.training_result_
    assert result is not None
    assert result.stop_reason == "early_stopping"
    assert len(result.history) == 2 and result.best_epoch == 1
    saved = load_file(str(tmp_path / "m" / "weights.safetensors"))
    live = synth._model.network.state_dict()
    assert all(np.array_equal(saved[k].numpy(), live[k].cpu().numpy()) for k in saved)


def test_time_limit_stops_training(tmp_path: Path, short_fortunes: list[str]) -> None:
    synth = TextSynthesizer(**{**TINY, "epochs": 1000, "max_training_time_seconds": 0.5})
    synth.fit(short_fortunes * 5, tmp_path / "m")
    assert synth.training_result_.stop_reason == "time_limit"
    assert len(synth.training_result_.history) < 1000


def test_seed_makes_training_reproducible(tmp_path: Path, short_fortunes: list[str]) -> None:
    losses = []
    for name in ("a", "b"):
        synth = TextSynthesizer(**TINY).fit(short_fortunes, tmp_path / name)
        losses.append([s.loss for s in synth.training_result_.history])
    assert losses[0] == losses[1]


def test_long_records_split_with_carried_state(tmp_path: Path, short_fortunes: list[str]) -> None:
    synth = TextSynthesizer(**{**TINY, "epochs": 3, "seq_length": 8})
    synth.fit(short_fortunes, tmp_path / "m")
    history = synth.training_result_.history
    assert history[-1].loss < history[0].loss


def test_sentencepiece_model_trains(tmp_path: Path, short_fortunes: list[str]) -> None:
    synth = TextSynthesizer(**{**TINY, "vocab_size": 400})
    synth.fit(short_fortunes, tmp_path / "m")
    assert (tmp_path / "m" / "tokenizer.model").is_file()
    records = list(synth.generate(5, seed=1))
    assert sum(r.valid for r in records) == 5


def test_ctrl_c_keeps_best_checkpoint(tmp_path: Path, short_fortunes: list[str]) -> None:
    def interrupt_at_two(state: EpochState) -> None:
        if state.epoch == 2:
            raise KeyboardInterrupt

    synth = TextSynthesizer(**{**TINY, "epochs": 10})
    synth.fit(short_fortunes, tmp_path / "m", epoch_callback=interrupt_at_two)
    assert synth.training_result_.stop_reason == "interrupted"
    loaded = TextSynthesizer.load(tmp_path / "m")
    assert sum(r.valid for r in loaded.generate(3, seed=0)) == 3


def test_existing_model_needs_overwrite_and_survives_failure(
    tmp_path: Path, short_fortunes: list[str]
) -> None:
    model_dir = tmp_path / "m"
    TextSynthesizer(**{**TINY, "epochs": 1}).fit(short_fortunes, model_dir)
    before = (model_dir / "weights.safetensors").read_bytes()
    with pytest.raises(ModelDirError, match="--overwrite"):
        TextSynthesizer(**TINY).fit(short_fortunes, model_dir)

    def fail(state: EpochState) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        TextSynthesizer(**{**TINY, "rnn_units": 48}).fit(
            short_fortunes, model_dir, overwrite=True, epoch_callback=fail
        )
    assert (model_dir / "weights.safetensors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"], "staging folder left behind"
    TextSynthesizer(**{**TINY, "rnn_units": 48}).fit(short_fortunes, model_dir, overwrite=True)
    assert (
        json.loads((model_dir / "model_params.json").read_text())["model_shape"]["rnn_units"] == 48
    )


def test_refuses_to_overwrite_a_folder_that_is_not_a_model(
    tmp_path: Path, short_fortunes: list[str]
) -> None:
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(ModelDirError, match="refusing"):
        TextSynthesizer(**TINY).fit(short_fortunes, tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_interrupt_before_first_checkpoint_leaves_nothing(
    tmp_path: Path, short_fortunes: list[str]
) -> None:
    def interrupt(state: EpochState) -> None:
        raise KeyboardInterrupt

    # The first epoch is checkpointed before the callback runs, so this keeps a model;
    # a data error before training must leave no half-made folder behind.
    with pytest.raises(Exception, match="no records"):
        TextSynthesizer(**TINY).fit(["   "], tmp_path / "m")
    assert not (tmp_path / "m").exists()
    TextSynthesizer(**TINY).fit(short_fortunes, tmp_path / "m2", epoch_callback=interrupt)
    assert (tmp_path / "m2" / "weights.safetensors").exists()
