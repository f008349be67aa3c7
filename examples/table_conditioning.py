"""Generate rows given some of their values (smart seeding) and with chosen shares."""

from importlib.resources import files

import pandas as pd

from synthloom import TableSynthesizer

data = files("synthloom") / "data" / "adult_sample.csv"

# The seed fields are named before training; generation can then fix them.
synth = TableSynthesizer(
    task={"type": "seed", "attrs": {"fields": ["sex", "race"]}},
    max_training_time_seconds=20,
    seed=0,
)
synth.fit(data, "seeded_model", overwrite=True)

seeds = pd.DataFrame(
    {"sex": ["Female"] * 5, "race": ["Black", "White", "Asian-Pac-Islander"] + ["White"] * 2}
)
rows = synth.generate(seeds=seeds)  # one row per seed row, in order, seed values kept
print(rows[["sex", "race", "age", "occupation"]])

balanced = synth.generate(1000, rebalance={"sex": {"Female": 0.5}})
print(balanced["sex"].value_counts(normalize=True).round(2))
