"""Strings benchmark: Adult rows plus made-up names, emails, phones (and notes).

Usage: OMP_NUM_THREADS=1 python benchmarks/strings.py [--rows 3000] [--time-cap 60]
           [--records 2000] [--notes] [--categorical-baseline]

Adds seeded made-up columns to ``rows`` Adult rows (and to a holdout of a quarter as
many): ``name`` ("First Last"), ``email`` (unique), ``phone`` ("(ddd) ddd-dddd", unique)
and with ``--notes`` a ``note`` (a fortune of at most 120 characters). Trains the same
config on Adult alone and with the extra columns (each under ``time-cap`` seconds), and
prints: verbatim-copy rate of the unique columns (synthetic and holdout), email and phone
validity, name character-bigram accuracy (1 − TVD against the holdout; the training
names' own score beside it), the other columns' TVD accuracy with and without the string
columns, and the train/generate time ratio. ``--categorical-baseline`` also trains with
the string columns forced categorical (the behaviour before column kinds).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.report.metrics import tvd_accuracy
from synthloom.report.values import value_copies
from synthloom.table import TableSynthesizer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Paul",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Kenneth",
    "Donna",
    "Joshua",
    "Michelle",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ahmed",
    "Stephanie",
    "Jason",
    "Rebecca",
    "Ryan",
    "Sharon",
    "Jacob",
    "Laura",
    "Gary",
    "Cynthia",
    "Nicholas",
    "Dorothy",
    "Eric",
    "Amy",
    "Jonathan",
    "Kathleen",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Murphy",
]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.org", "mail.co.uk", "corp.net"]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"\(\d{3}\) \d{3}-\d{4}")
STRING_COLUMNS = ["name", "email", "phone"]


def made_up(frame: pd.DataFrame, seed: int, notes: list[str] | None) -> pd.DataFrame:
    """``frame`` with seeded made-up personal columns (emails and phones unique)."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    first, last = rng.choice(FIRST, n), rng.choice(LAST, n)
    out = frame.copy()
    out["name"] = [f"{a} {b}" for a, b in zip(first, last, strict=True)]
    tags = rng.choice(10**6, n, replace=False) + seed * 10**6
    out["email"] = [
        f"{a.lower()}{'.' if t % 2 else '_'}{b.lower()}{t % 997}@{DOMAINS[t % len(DOMAINS)]}"
        for a, b, t in zip(first, last, tags, strict=True)
    ]
    numbers = rng.choice(9 * 10**9, n, replace=False) + 10**9 + seed
    out["phone"] = [f"({str(p)[:3]}) {str(p)[3:6]}-{str(p)[6:]}" for p in numbers]
    if notes is not None:
        out["note"] = rng.choice(np.array(notes, dtype=object), n)
    return out


def bigram_accuracy(reference: pd.Series, other: pd.Series) -> float:
    """1 − TVD of the character-bigram distributions of two text columns."""

    def shares(values: pd.Series) -> Counter[str]:
        counts: Counter[str] = Counter()
        for text in values.dropna().astype(str):
            padded = f"^{text}$"
            counts.update(padded[i : i + 2] for i in range(len(padded) - 1))
        total = sum(counts.values()) or 1
        return Counter({k: v / total for k, v in counts.items()})

    p, q = shares(reference), shares(other)
    return 1 - 0.5 * sum(abs(p[k] - q[k]) for k in set(p) | set(q))


BATCH: dict[str, int] = {}


def run(
    train: pd.DataFrame, records: int, cap: float, columns: dict[str, Any] | None = None
) -> tuple[pd.DataFrame, float, float, dict[str, Any]]:
    synth = TableSynthesizer(
        **BATCH,
        epochs=100,
        validation_split=0.1,
        max_training_time_seconds=cap,
        seed=0,
        columns=columns or {},
    )
    start = time.perf_counter()
    synth.fit(train, Path(tempfile.mkdtemp()) / "m")
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = synth.generate(records, seed=1)
    gen_seconds = time.perf_counter() - start
    result = synth.training_result_
    info = {
        "epochs": len(result.history) if result else 0,
        "stats": synth.generation_stats_,
    }
    return out, train_seconds, gen_seconds, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--time-cap", type=float, default=60.0)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--notes", action="store_true")
    parser.add_argument("--batch-size", type=int, default=None, help="default: table default")
    parser.add_argument("--categorical-baseline", action="store_true")
    args = parser.parse_args()
    if args.batch_size:
        BATCH["batch_size"] = args.batch_size

    adult = pd.read_csv(SHARED / "tabular" / "adult.csv")
    sample = adult.sample(args.rows + args.rows // 4, random_state=0).reset_index(drop=True)
    notes = None
    if args.notes:
        lines = (SHARED / "text" / "fortunes.txt").read_text(encoding="utf-8").splitlines()
        notes = [x for x in lines if 20 <= len(x) <= 120]
    base_train, base_hold = sample.iloc[: args.rows], sample.iloc[args.rows :]
    train = made_up(base_train.reset_index(drop=True), 1, notes)
    hold = made_up(base_hold.reset_index(drop=True), 2, notes)
    adult_columns = list(adult.columns)

    plain, t_plain, g_plain, i_plain = run(base_train, args.records, args.time_cap)
    rich, t_rich, g_rich, i_rich = run(train, args.records, args.time_cap)
    print(f"rows {args.rows}, holdout {len(hold)}, records {args.records}, cap {args.time_cap} s")
    print(
        f"adult only:   train {t_plain:.1f} s ({i_plain['epochs']} epochs), "
        f"generate {g_plain:.2f} s"
    )
    print(
        f"with strings: train {t_rich:.1f} s ({i_rich['epochs']} epochs), "
        f"generate {g_rich:.2f} s; stats {i_rich['stats']}"
    )
    print(
        f"time ratio (with / without): train {t_rich / t_plain:.2f}, "
        f"generate {g_rich / g_plain:.2f}"
    )
    report(train, hold, rich, adult_columns, "with strings")
    acc_plain = tvd_accuracy(base_hold[adult_columns], plain[adult_columns]).univariate_mean
    acc_rich = tvd_accuracy(hold[adult_columns], rich[adult_columns]).univariate_mean
    print(
        f"adult columns' univariate TVD accuracy vs holdout: without strings {acc_plain:.4f}, "
        f"with strings {acc_rich:.4f} (difference {acc_rich - acc_plain:+.4f})"
    )
    if args.categorical_baseline:
        forced = {c: "categorical" for c in STRING_COLUMNS + (["note"] if notes else [])}
        old, t_old, _, _ = run(train, args.records, args.time_cap, forced)
        print(f"strings forced categorical (before column kinds): train {t_old:.1f} s")
        report(train, hold, old, adult_columns, "categorical baseline")


def report(
    train: pd.DataFrame,
    hold: pd.DataFrame,
    out: pd.DataFrame,
    adult_columns: list[str],
    label: str,
) -> None:
    extra = [c for c in train.columns if c not in adult_columns]
    for c in value_copies(train, out, hold, extra):
        line = (
            f"[{label}] {c.column}: verbatim training values {100 * c.synthetic_share:.1f}% "
            f"(holdout {100 * (c.holdout_share or 0):.1f}%)"
        )
        if c.text is not None:
            t = c.text
            line += (
                f"; length accuracy {t.length_accuracy:.3f} (holdout "
                f"{t.length_accuracy_holdout:.3f}), 8-gram copy share "
                f"{t.ngram_copy_share:.3f} (holdout {t.ngram_copy_share_holdout:.3f})"
            )
        print(line)
    emails = out["email"].dropna().astype(str)
    phones = out["phone"].dropna().astype(str)
    print(
        f"[{label}] email validity {emails.map(lambda e: bool(EMAIL.fullmatch(e))).mean():.4f}"
        f" of {len(emails)}; phone pattern validity "
        f"{phones.map(lambda p: bool(PHONE.fullmatch(p))).mean():.4f} of {len(phones)}"
    )
    print(
        f"[{label}] name bigram accuracy vs holdout "
        f"{bigram_accuracy(hold['name'], out['name']):.4f}"
        f" (training names vs holdout {bigram_accuracy(hold['name'], train['name']):.4f}); "
        f"distinct names {out['name'].nunique()} of {out['name'].notna().sum()}"
    )
    print(f"[{label}] examples: {out[extra].head(3).to_dict('records')}")


if __name__ == "__main__":
    main()
