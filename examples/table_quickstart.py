"""Learn a table and generate new rows (the bundled 4,000-row Adult census sample)."""

from importlib.resources import files

from synthloom import TableSynthesizer

data = files("synthloom") / "data" / "adult_sample.csv"  # or your CSV, Parquet, a DataFrame

synth = TableSynthesizer(max_training_time_seconds=20, seed=0)  # drop the cap for a full model
synth.fit(data, "adult_model", overwrite=True)
frame = synth.generate(1000)  # a DataFrame in the input's columns and types
print(frame.head())

same = TableSynthesizer.load("adult_model")  # later, in another process
print(len(same.generate(10)), "more rows")
