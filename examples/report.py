"""Score synthetic rows against the real ones and write the HTML/PDF report."""

from importlib.resources import files

from synthloom import TableSynthesizer
from synthloom.report import build_report
from synthloom.report.from_model import training_and_holdout

data = files("synthloom") / "data" / "adult_sample.csv"

synth = TableSynthesizer(validation_split=0.2, max_training_time_seconds=20, seed=0)
synth.fit(data, "report_model", overwrite=True)
real, holdout = training_and_holdout("report_model")  # the rows trained on, the rows held out
synthetic = synth.generate(len(real))

report = build_report(real, synthetic, "report", holdout=holdout, target="income")
print(f"accuracy {report.scores['accuracy']['overall']:.3f}")
print(f"privacy: {report.scores['privacy']['verdict']}")
print("open", report.html_path)
