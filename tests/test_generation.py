"""Generation: exact counts, validators, start strings, seeds, workers, bad arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from synthloom import ConfigError, DataError, ModelDirError, TextSynthesizer, TooManyInvalidError


@pytest.fixture(scope="module")
def synth(trained_dir: Path) -> TextSynthesizer:
    return TextSynthesizer.load(trained_dir)


def test_exactly_n_valid_records(synth: TextSynthesizer) -> None:
    records = list(synth.generate(57, seed=1, predict_batch_size=16))
    assert sum(r.valid for r in records) == 57
    assert all(r.text for r in records if r.valid)


def test_validator_rejections_are_explained(synth: TextSynthesizer) -> None:
    def short_only(text: str) -> bool:
        if len(text) > 20:
            raise ValueError(f"too long: {len(text)}")
        return True

    records = list(synth.generate(10, line_validator=short_only, seed=2, max_invalid=10_000))
    valid = [r for r in records if r.valid]
    invalid = [r for r in records if not r.valid]
    assert len(valid) == 10 and all(len(r.text) <= 20 for r in valid)
    assert all(len(r.text) > 20 or r.explanation == "empty record" for r in invalid)
    assert all(
        "too long" in (r.explanation or "") or "length cap" in (r.explanation or "")
        for r in invalid
        if r.text.strip()
    )
    assert any("too long" in (r.explanation or "") for r in invalid)


def test_max_invalid_stops_with_counts(synth: TextSynthesizer) -> None:
    with pytest.raises(TooManyInvalidError, match="max_invalid=7") as info:
        list(synth.generate(5, line_validator=lambda _: False, max_invalid=7, seed=0))
    assert info.value.invalid == 8 and info.value.valid == 0 and info.value.wanted == 5


def test_start_string(synth: TextSynthesizer) -> None:
    records = [r for r in synth.generate(20, start_string="The ", seed=3) if r.valid]
    assert len(records) == 20
    assert all(r.text.startswith("The ") for r in records)
    with pytest.raises(DataError, match="never occurs"):
        list(synth.generate(2, start_string="\u2603"))


def test_same_seed_same_records_after_reload(synth: TextSynthesizer, trained_dir: Path) -> None:
    first = [r.text for r in synth.generate(30, seed=11)]
    again = [r.text for r in TextSynthesizer.load(trained_dir).generate(30, seed=11)]
    other = [r.text for r in synth.generate(30, seed=12)]
    assert first == again
    assert first != other


def test_worker_processes_give_the_same_records(synth: TextSynthesizer) -> None:
    one = [r.text for r in synth.generate(300, seed=5, predict_batch_size=32)]
    two = [r.text for r in synth.generate(300, seed=5, predict_batch_size=32, parallelism=2)]
    assert one == two


def test_length_cap_ends_runaway_records(synth: TextSynthesizer) -> None:
    # At a very high temperature end-of-record is rarely drawn: records hit the cap.
    records = list(synth.generate(3, gen_temp=50.0, seed=0, max_invalid=100_000))
    cap = synth._model.max_tokens
    capped = [r for r in records if not r.valid and "no end of record" in (r.explanation or "")]
    assert capped, "expected some records cut at the length cap"
    assert all(len(r.text) <= cap for r in records)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"num_records": 0}, "num_records=0"),
        ({"num_records": -3}, "positive"),
        ({"num_records": 5, "gen_temp": 0.0}, "gen_temp"),
        ({"num_records": 5, "gen_temp": -1.0}, "gen_temp"),
        ({"num_records": 5, "max_invalid": -1}, "max_invalid"),
    ],
)
def test_bad_generation_arguments(synth: TextSynthesizer, kwargs: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        list(synth.generate(**kwargs))


def test_num_records_none_means_training_size(trained_dir: Path) -> None:
    # The fixture trained on 300 records: null gives min(5000, 300). A copy of its own is
    # changed, so the shared fixture stays as trained.
    own = TextSynthesizer.load(trained_dir)
    own.config.generate.num_records = None
    assert sum(r.valid for r in own.generate(seed=0)) == 300


def test_loading_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match="does not exist"):
        TextSynthesizer.load(tmp_path / "nothing")
    with pytest.raises(ModelDirError, match="not a synthloom model dir"):
        TextSynthesizer.load(tmp_path)


def test_draw_tokens_follows_the_probabilities_and_never_draws_a_banned_token() -> None:
    from synthloom.lstm.model import draw_tokens

    generator = torch.Generator().manual_seed(0)
    probs = torch.tensor([0.0, 0.2, 0.3, 0.5, 0.0])
    logits = torch.log(probs).repeat(100_000, 1)
    drawn = draw_tokens(logits, generator)
    shares = torch.bincount(drawn, minlength=5) / len(drawn)
    assert shares[0] == 0 and shares[4] == 0
    torch.testing.assert_close(shares, probs, atol=0.01, rtol=0)


def test_record_lengths_are_calibrated_after_training(tmp_path: Path) -> None:
    """An underfit end-of-record decision makes lengths unlike the data; the calibration
    after training brings sampled lengths back in line (and is kept in the model dir)."""
    import json

    import numpy as np

    from synthloom.report.sequences import length_accuracy

    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefgh"))
    sizes = np.where(rng.random(400) < 0.6, rng.integers(2, 5, 400), rng.integers(25, 31, 400))
    records = ["".join(rng.choice(letters, n)) for n in sizes]
    tiny = {"vocab_size": 0, "epochs": 1, "rnn_units": 32, "embedding_dim": 16}
    synth = TextSynthesizer(**tiny, rnn_layers=1, batch_size=32, learning_rate=0.01, seed=0)
    synth.fit(records, tmp_path / "m")
    params = json.loads((tmp_path / "m" / "model_params.json").read_text())
    assert params["end_bias"]

    def accuracy(model: TextSynthesizer) -> float:
        made = [len(r.text) for r in model.generate(400, seed=1, max_invalid=10_000)]
        return length_accuracy(sizes, np.array(made))

    calibrated = accuracy(TextSynthesizer.load(tmp_path / "m"))
    plain = TextSynthesizer.load(tmp_path / "m")
    plain._model.end_bias = []
    assert calibrated >= 0.8
    assert calibrated > accuracy(plain) + 0.1
