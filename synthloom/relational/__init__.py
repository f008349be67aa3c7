"""Relational databases: per-table models composed into a database with valid keys.

```python
from synthloom.relational import RelationalSynthesizer, write_tables

synth = RelationalSynthesizer("relational.yaml")
synth.fit("sqlite:///shop.sqlite", "shop_model")
tables = synth.generate(num_records=500, seed=0)   # {table: DataFrame}, keys checked
write_tables(tables, synth.schema, "postgresql+psycopg://user@host/db")
```
"""

from synthloom.relational.complexity import Assessment, assess
from synthloom.relational.config import (
    RelationalConfig,
    load_relational_config,
    parse_relational_config,
)
from synthloom.relational.destinations import destination_kind, write_tables
from synthloom.relational.keys import IntegrityReport, check_integrity
from synthloom.relational.report import build_relational_report, report_options
from synthloom.relational.report_metrics import relational_scores
from synthloom.relational.schema import ForeignKey, Schema, TableSchema
from synthloom.relational.sources import read_source
from synthloom.relational.status import StatusEvent, Timeline
from synthloom.relational.synthesizer import RelationalSynthesizer, read_database

__all__ = [
    "Assessment",
    "ForeignKey",
    "IntegrityReport",
    "RelationalConfig",
    "RelationalSynthesizer",
    "Schema",
    "StatusEvent",
    "TableSchema",
    "Timeline",
    "assess",
    "build_relational_report",
    "check_integrity",
    "destination_kind",
    "load_relational_config",
    "parse_relational_config",
    "read_database",
    "read_source",
    "relational_scores",
    "report_options",
    "write_tables",
]
