"""Learn time series, one per entity, and generate new entities with their own series."""

import numpy as np
import pandas as pd

from synthloom import SequenceSynthesizer

rng = np.random.default_rng(0)
rows = []
for sensor in range(60):  # 60 sensors, 12 readings each
    level = rng.uniform(10, 30)
    for hour in range(12):
        rows.append({"sensor": f"s{sensor}", "hour": hour, "temp": round(level + hour * 0.5, 1)})
readings = pd.DataFrame(rows)

synth = SequenceSynthesizer(
    time_series={"entity_column": "sensor", "order_by": ["hour"]},
    max_training_time_seconds=20,
    seed=0,
)
synth.fit(readings, "sensor_model", overwrite=True)
series = synth.generate(5)  # five new sensors, each ordered by hour
print(series.head(12))
