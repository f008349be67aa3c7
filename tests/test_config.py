"""The YAML schema: defaults, validation, unknown keys, unsupported options."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom import ConfigError, SyntheticsConfig, TextSynthesizer, load_config

GRETEL_CONFIG = """
schema_version: 1.0
name: my-model
models:
  - synthetics:
      data_source: train.txt
      params:
        epochs: 100
        batch_size: 64
        vocab_size: 20000
        reset_states: False
        learning_rate: 0.01
        rnn_units: 256
        dropout_rate: 0.2
        field_cluster_size: 20
        early_stopping: True
        gen_temp: 1.0
        predict_batch_size: 64
        validation_split: False
        dp: False
        dp_noise_multiplier: 0.001
        dp_l2_norm_clip: 5.0
        dp_microbatches: 1
      validators:
        in_set_count: 10
        pattern_count: 10
      generate:
        num_records: 5000
        max_invalid: null
      data_checks:
        strategy: log
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_gretel_config_parses_with_its_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GRETEL_CONFIG))
    synth = config.synthetics
    assert config.schema_version == "1.0"
    assert synth.params.learning_rate == 0.01
    assert synth.params.dp_l2_norm_clip == 5.0
    assert synth.generate.max_invalid is None
    assert synth.data_source == "train.txt"


def test_defaults_follow_config_reference() -> None:
    config = SyntheticsConfig()
    p = config.params
    assert (p.epochs, p.batch_size, p.vocab_size, p.rnn_units, p.rnn_layers) == (
        100,
        64,
        20000,
        256,
        2,
    )
    assert (p.early_stopping_patience, p.early_stopping_min_delta) == (5, 0.001)
    assert (p.dp_epsilon, p.dp_delta, p.dp_l2_norm_clip) == (5.0, None, 1.0)
    assert p.validation_share == 0.0
    assert config.generate.num_records == 5000
    assert config.validators.in_set_count == 10
    assert config.fallback.allow is True
    assert config.data_checks.strategy == "log"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("models:\n  - synthetics:\n      params: {epoch: 3}\n", "did you mean 'epochs'"),
        ("models:\n  - synthetics:\n      generat: {}\n", "did you mean 'generate'"),
        ("modles: []\n", "did you mean 'models'"),
        ("models:\n  - synthetics:\n      params: {gen_temp: 0}\n", "gen_temp"),
        ("models:\n  - synthetics:\n      generate: {num_records: 0}\n", "num_records=0"),
        ("models:\n  - synthetics:\n      generate: {num_records: -5}\n", "positive"),
        ("models:\n  - synthetics:\n      params: {field_delimiter: 'x'}\n", "field_delimiter"),
        ("models:\n  - synthetics:\n      task: {type: seed, attrs: {fields: []}}\n", "fields"),
    ],
)
def test_bad_configs_name_the_problem(tmp_path: Path, yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, yaml_text))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "models: [\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_keywords_route_to_sections() -> None:
    config = SyntheticsConfig.from_options(epochs=3, num_records=7, validators={"in_set_count": 2})
    assert config.params.epochs == 3
    assert config.generate.num_records == 7
    assert config.validators.in_set_count == 2
    with pytest.raises(ConfigError, match="did you mean 'rnn_units'"):
        SyntheticsConfig.from_options(rnn_unit=3)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"task": {"type": "seed", "attrs": {"fields": ["a"]}}}, "seeding"),
        ({"validators": {"in_set_count": 3}}, "validators"),
    ],
)
def test_table_options_are_refused_for_text(options: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        TextSynthesizer(**options)
