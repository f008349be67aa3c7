"""Training: whole records, held-out split, early stopping, limits, checkpoints, Ctrl-C."""

from __future__ import annotations

import csv
import json
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from synthloom import DataError, EpochState, ModelDirError, TextSynthesizer
from synthloom.encoding.tokenizers import PAD, ByteTokenizer
from synthloom.lstm.model import ModelShape, RecordLSTM
from synthloom.lstm.steps import PlainSteps
from synthloom.lstm.train import Trainer, _Checkpoints, records_to_sequences, split_holdout
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


def test_time_cap_leaves_room_for_a_slow_validation(
    tmp_path: Path, short_fortunes: list[str]
) -> None:
    # Validation over many records costs more than a training epoch of two steps: a
    # cap checked only after training steps would be overrun by a whole validation pass.
    cap = 2.0
    sequences = records_to_sequences([ByteTokenizer().encode(r) for r in short_fortunes])
    train, val = sequences[:64], sequences[64:] * 60
    params = TextSynthesizer(**TINY).config.params.model_copy(
        update={"epochs": 10_000, "max_training_time_seconds": cap}
    )
    torch.manual_seed(0)
    network = RecordLSTM(ModelShape(ByteTokenizer().vocab_size, 16, 32, 1, 0.0))
    trainer = Trainer(network, params, tmp_path, torch.device("cpu"), None, False)
    began = time.monotonic()
    result = trainer.fit(train, val)
    elapsed = time.monotonic() - began
    assert result.stop_reason == "time_limit"
    assert elapsed <= 1.05 * cap + 0.25, f"{elapsed:.2f} s for a {cap} s cap"
    # the model kept is the best one validated (on a heavily loaded machine no
    # validation may finish in time: then the last unscored weights are kept)
    scored = [s for s in result.history if s.val_loss is not None]
    if scored:
        assert result.best_epoch == min(scored, key=lambda s: s.val_loss).epoch
    else:
        assert result.best_epoch == result.history[-1].epoch
    saved = load_file(str(tmp_path / "weights.safetensors"))
    live = network.state_dict()
    assert all(torch.equal(saved[k], live[k]) for k in saved)


def test_time_cap_covers_the_whole_fit(tmp_path: Path, short_fortunes: list[str]) -> None:
    cap = 2.0
    options = {**TINY, "epochs": 10_000, "validation_split": 0.98}
    synth = TextSynthesizer(**options, max_training_time_seconds=cap)
    began = time.monotonic()
    synth.fit(short_fortunes * 30, tmp_path / "m")  # 180 training, 8,820 held-out records
    elapsed = time.monotonic() - began
    assert synth.training_result_.stop_reason == "time_limit"
    assert elapsed <= 1.05 * cap + 0.5, f"{elapsed:.2f} s for a {cap} s cap"


def test_validation_cut_by_the_cap_keeps_the_earlier_checkpoint(tmp_path: Path) -> None:
    params = TextSynthesizer(**TINY).config.params
    first, late = {"w": torch.zeros(1)}, {"w": torch.ones(1)}
    plain = _Checkpoints(params, select_by_loss=True)
    assert plain.offer_unscored(first)  # nothing kept yet: the only weights there are
    assert plain.offer(1.0, first, 1) and not plain.offer_unscored(late)
    assert plain.state is first
    unscored = _Checkpoints(params, select_by_loss=True)  # no validation ever finished
    assert unscored.offer_unscored(first) and unscored.offer_unscored(late)
    assert unscored.state is late  # the more trained weights
    private = _Checkpoints(params, select_by_loss=False)  # DP keeps the last weights
    assert private.offer(1.0, first, 1) and private.offer_unscored(late)
    assert private.state is late
    trainer = _trainer(tmp_path, None)
    sequences = records_to_sequences([[65, 66, 67]] * 4)
    assert trainer._evaluate(sequences, deadline=time.monotonic() - 1) is None
    assert trainer._evaluate(sequences, deadline=time.monotonic() + 60) is not None


def test_seed_makes_training_reproducible(tmp_path: Path, short_fortunes: list[str]) -> None:
    losses = []
    for name in ("a", "b"):
        synth = TextSynthesizer(**TINY).fit(short_fortunes, tmp_path / name)
        losses.append([s.loss for s in synth.training_result_.history])
    assert losses[0] == losses[1]


def _trainer(tmp_path: Path, seq_length: int | None) -> Trainer:
    """A trainer of a fixed tiny network (no dropout), chunking with ``seq_length``."""
    params = TextSynthesizer(**TINY).config.params.model_copy(update={"seq_length": seq_length})
    torch.manual_seed(0)
    network = RecordLSTM(ModelShape(ByteTokenizer().vocab_size, 8, 16, 1, 0.0))
    return Trainer(network, params, tmp_path, torch.device("cpu"), None, False)


def test_long_records_split_with_carried_state(tmp_path: Path, short_fortunes: list[str]) -> None:
    tokenizer = ByteTokenizer()
    sequences = records_to_sequences([tokenizer.encode(r) for r in short_fortunes[:16]])
    batch = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True, padding_value=PAD)
    width = batch.shape[1] - 1
    assert width > 40  # several chunks of 8

    whole = _trainer(tmp_path, None)
    whole_loss, whole_right, n_tokens = whole.backward(batch, per_token=True)
    whole_grad = whole.model.lstm.weight_hh_l0.grad.clone()

    chunked = _trainer(tmp_path, 8)
    calls: list[tuple[int, int, bool]] = []
    loss_terms = chunked.model.loss_terms

    def spy(inputs, targets, state, start):  # type: ignore[no-untyped-def]
        calls.append((inputs.shape[1], start, state is None))
        return loss_terms(inputs, targets, state, start)

    chunked.model.loss_terms = spy  # type: ignore[method-assign]
    loss, right, count = chunked.backward(batch, per_token=True)
    # ceil(width / 8) backward passes of ≤ 8 positions, each starting where the last ended
    assert [c[1] for c in calls] == list(range(0, width, 8))
    assert all(c[0] == min(8, width - c[1]) for c in calls)
    # the state is carried: only the first chunk starts from zeros, and the summed loss is
    # the whole record's (a chunk restarted from zeros would score differently) ...
    assert [c[2] for c in calls] == [True] + [False] * (len(calls) - 1)
    assert loss == pytest.approx(whole_loss, rel=1e-5)
    assert (right, count) == (whole_right, n_tokens)
    inputs, targets = batch[:, :-1], batch[:, 1:]
    with torch.no_grad():
        restarted = sum(
            float(loss_terms(inputs[:, lo : lo + 8], targets[:, lo : lo + 8], None, lo).loss)
            for lo in range(0, width, 8)
        )
    assert abs(restarted - whole_loss) > 100 * abs(loss - whole_loss)
    # ... but gradients stop at chunk borders (truncated backpropagation through time)
    chunk_grad = chunked.model.lstm.weight_hh_l0.grad
    assert not torch.allclose(chunk_grad, whole_grad, atol=1e-6)


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


def test_data_error_before_training_leaves_no_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no records"):
        TextSynthesizer(**TINY).fit(["   "], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def _interrupt_first_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the first optimizer step, before any checkpoint exists."""

    def interrupt(self: PlainSteps, trainer: Trainer, batch: torch.Tensor) -> tuple:
        raise KeyboardInterrupt

    monkeypatch.setattr(PlainSteps, "step", interrupt)


def test_interrupt_before_first_checkpoint_leaves_nothing(
    tmp_path: Path, short_fortunes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_first_step(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        TextSynthesizer(**TINY).fit(short_fortunes, tmp_path / "m")
    assert list(tmp_path.iterdir()) == [], "a half-made model dir was left behind"


def test_interrupt_before_first_checkpoint_keeps_the_old_model(
    tmp_path: Path, short_fortunes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = tmp_path / "m"
    TextSynthesizer(**{**TINY, "epochs": 1}).fit(short_fortunes, model_dir)
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    _interrupt_first_step(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        TextSynthesizer(**{**TINY, "rnn_units": 48}).fit(short_fortunes, model_dir, overwrite=True)
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"], "staging folder left behind"


@pytest.mark.parametrize(
    ("schedule", "divisor"), [("plateau", 4), ("constant", 1)], ids=["plateau", "constant"]
)
def test_learning_rate_schedule_when_the_loss_stalls(
    tmp_path: Path, short_fortunes: list[str], schedule: str, divisor: int
) -> None:
    # A min_delta larger than any improvement: epochs 2 and 3 stall after epoch 1.
    trainer = _trainer(tmp_path, None)
    trainer.params = trainer.params.model_copy(
        update={
            "epochs": 3,
            "early_stopping": False,
            "early_stopping_min_delta": 100.0,
            "learning_rate_schedule": schedule,
        }
    )
    tokenizer = ByteTokenizer()
    sequences = records_to_sequences([tokenizer.encode(r) for r in short_fortunes[:32]])
    result = trainer.fit(sequences, [])
    assert len(result.history) == 3 and result.best_epoch == 1
    rates = {group["lr"] for group in trainer.optimizer.param_groups}
    assert rates == {TINY["learning_rate"] / divisor}


@pytest.mark.parametrize("capped", [False, True], ids=["epochs", "time cap"])
def test_budget_schedule_falls_to_the_floor_by_the_end_of_the_budget(
    tmp_path: Path, short_fortunes: list[str], capped: bool
) -> None:
    """``budget``: the step size falls step by step to 1/16 of learning_rate, over the
    epochs or, when it binds first, the time cap."""
    trainer = _trainer(tmp_path, None)
    update: dict[str, object] = {"learning_rate_schedule": "budget", "early_stopping": False}
    update |= {"epochs": 1000, "max_training_time_seconds": 1.5} if capped else {"epochs": 10}
    trainer.params = trainer.params.model_copy(update=update)
    tokenizer = ByteTokenizer()
    sequences = records_to_sequences([tokenizer.encode(r) for r in short_fortunes[:32]])
    rates: list[float] = []
    step = trainer.policy.step

    def spy(owner, batch):  # type: ignore[no-untyped-def]
        rates.append(owner.optimizer.param_groups[0]["lr"])
        return step(owner, batch)

    trainer.policy.step = spy  # type: ignore[method-assign]
    result = trainer.fit(sequences, [])
    assert result.stop_reason == ("time_limit" if capped else "epochs")
    base = TINY["learning_rate"]
    assert rates[0] == pytest.approx(base, rel=0.05)
    assert all(later <= earlier for earlier, later in pairwise(rates))
    assert rates[-1] <= base * 0.2
    assert min(rates) >= base / 16 - 1e-12


def test_weight_average_forgets_the_initial_weights_early() -> None:
    """A run cut after a few dozen steps keeps weights near the trained ones, not the
    random start: the average's decay grows with the number of updates."""
    from synthloom.lstm.train import WeightAverage

    layer = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(layer.weight)
    average = WeightAverage(layer, decay=0.999)
    with torch.no_grad():
        layer.weight.fill_(1.0)  # trained away from the start and kept there
    for _ in range(30):
        average.update()
    with average.applied():
        assert float(layer.weight.detach()) > 0.6
    assert float(layer.weight.detach()) == 1.0  # the model's own weights back after


def test_late_dropout_starts_at_its_epoch_and_the_model_keeps_its_rates(
    tmp_path: Path, short_fortunes: list[str]
) -> None:
    """Epochs before ``dropout_from_epoch`` train without dropout (LSTM layers included);
    after training the model holds its own rates again."""
    params = TextSynthesizer(**TINY).config.params.model_copy(
        update={"epochs": 4, "early_stopping": False}
    )
    network = RecordLSTM(ModelShape(ByteTokenizer().vocab_size, 8, 16, 2, 0.3))
    seen: list[tuple[float, float]] = []

    def record(state: EpochState) -> None:
        seen.append((network.dropout.p, network.lstm.dropout))

    trainer = Trainer(
        network, params, tmp_path, torch.device("cpu"), record, False, dropout_from_epoch=3
    )
    sequences = records_to_sequences([ByteTokenizer().encode(r) for r in short_fortunes[:32]])
    trainer.fit(sequences, [])
    assert seen == [(0.0, 0.0), (0.0, 0.0), (0.3, 0.3), (0.3, 0.3)]
    assert (network.dropout.p, network.lstm.dropout) == (0.3, 0.3)


def test_late_dropout_without_validation_selects_among_dropout_epochs(
    tmp_path: Path, short_fortunes: list[str]
) -> None:
    """Without validation rows the training loss picks the checkpoint. Dropout raises it,
    so the epochs with dropout are compared among themselves, not with the ones before:
    training goes on past the switch and keeps weights trained with dropout (compared
    with the epochs before, it stopped two epochs after the switch with earlier weights)."""
    params = TextSynthesizer(**TINY).config.params.model_copy(
        update={
            "epochs": 10,
            "early_stopping": True,
            "early_stopping_patience": 2,
            "learning_rate": 0.05,
        }
    )
    torch.manual_seed(0)
    network = RecordLSTM(ModelShape(ByteTokenizer().vocab_size, 8, 16, 2, 0.9))
    trainer = Trainer(
        network, params, tmp_path, torch.device("cpu"), None, False, dropout_from_epoch=6
    )
    sequences = records_to_sequences([ByteTokenizer().encode(r) for r in short_fortunes[:16]])
    result = trainer.fit(sequences, [])
    losses = [state.loss for state in result.history]
    assert losses[5] > losses[4]  # the switch to dropout (at 0.9) raises the training loss
    assert result.best_epoch == len(result.history) == 10
