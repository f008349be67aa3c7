"""Learn a small database (two tables and a foreign key) and write a synthetic copy."""

import sqlite3

import numpy as np
import pandas as pd

from synthloom.relational import RelationalSynthesizer, write_tables

rng = np.random.default_rng(0)
customers = pd.DataFrame(
    {
        "customer_id": range(1, 301),
        "country": rng.choice(["DE", "FR", "US"], 300),
        "age": rng.integers(18, 80, 300),
    }
)
orders = pd.DataFrame(
    {
        "order_id": range(1, 1201),
        "customer_id": rng.integers(1, 301, 1200),
        "amount": rng.gamma(2.0, 30.0, 1200).round(2),
    }
)
with sqlite3.connect("shop.sqlite") as db:
    db.execute("DROP TABLE IF EXISTS orders")
    db.execute("DROP TABLE IF EXISTS customers")
    db.execute(
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, country TEXT, age INTEGER)"
    )
    db.execute(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, amount REAL, "
        "customer_id INTEGER REFERENCES customers(customer_id))"
    )
    customers.to_sql("customers", db, if_exists="append", index=False)
    orders.to_sql("orders", db, if_exists="append", index=False)

# Keys come from the database's own declarations; the root (customers) is found from them.
synth = RelationalSynthesizer({"params": {"max_training_time_seconds": 15, "seed": 0}})
synth.fit("shop.sqlite", "shop_model", overwrite=True)
tables = synth.generate(100)  # 100 new customers, their orders following
print({name: len(frame) for name, frame in tables.items()})
print(synth.integrity_)  # every foreign key checked
print(write_tables(tables, synth.schema, "synthetic_shop", overwrite=True))  # or a database URL
