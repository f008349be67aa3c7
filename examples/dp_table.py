"""Train with differential privacy (DP-SGD): the model's ε and δ are in its summary."""

import json
from importlib.resources import files
from pathlib import Path

from synthloom import TableSynthesizer

data = files("synthloom") / "data" / "adult_sample.csv"

synth = TableSynthesizer(
    dp=True,
    dp_epsilon=4.0,  # the whole budget: training and every count the model releases
    dp_delta=1e-6,
    max_training_time_seconds=30,
    seed=0,
)
synth.fit(data, "dp_model", overwrite=True)
summary = json.loads(Path("dp_model", "training_summary.json").read_text())
print(f"ε spent {summary['epsilon']:.2f} of 4.0, at δ = {summary['delta']:.1e}")  # early stop: less
print(synth.generate(5))
