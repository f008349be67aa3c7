"""Learn a file of text lines (one record per line) and write new ones."""

from importlib.resources import files

from synthloom import TextSynthesizer

data = files("synthloom") / "data" / "fortunes_sample.txt"  # 3,000 short fortunes

synth = TextSynthesizer(
    vocab_size=0,  # characters; the default is a 20,000-piece SentencePiece vocabulary
    rnn_units=128,
    max_training_time_seconds=20,
    seed=1,
)
synth.fit(data, "text_model", overwrite=True)
for record in synth.generate(5, start_string="You ", line_validator=lambda s: len(s) < 120):
    print(record.valid, record.text)
