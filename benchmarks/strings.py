"""Strings benchmark: Adult rows plus made-up names, emails, phones; notes; Chinook.

Usage: OMP_NUM_THREADS=1 python benchmarks/strings.py [--rows 3000] [--time-cap 60]
           [--records 2000] [--categorical-baseline]
           [--notes [--note-weight W] [--text-set PARAM=VALUE ...]]
           [--chinook [--chinook-epochs N]]

Default: adds seeded made-up columns to ``rows`` Adult rows (and to a holdout of a quarter
as many): ``name`` ("First Last"), ``email`` (unique) and ``phone`` ("(ddd) ddd-dddd",
unique). Trains the same config on Adult alone and with the extra columns (each under
``time-cap`` seconds), and prints: verbatim-copy rate of the unique columns (synthetic and
holdout), email and phone validity, name character-bigram accuracy (1 − TVD against the
holdout; beside it the training names' own score, and the ceiling of a model that learned
the training names exactly: 2,000 of them drawn with replacement), the other columns' TVD
accuracy with and without the string columns, and the train/generate time ratio.
``--categorical-baseline`` also trains with the string columns forced categorical (the
behaviour before column kinds).

``--notes``: Adult plus one text column, ``note`` (a fortune of 20 to 120 characters),
against Adult alone, and against the text engine alone (a TextSynthesizer, its defaults,
trained on the same notes under the same cap; ``--text-set PARAM=VALUE`` changes its
params): the notes' verbatim-copy rate, length
accuracy and 8-gram copy share (holdout beside), and the Adult columns' TVD accuracy with
and without the note; each model's stop reason. ``--note-weight W`` sets
``columns.note.loss_weight``. Compare 8-gram shares of models that stopped by
``early_stopping`` (``--time-cap 900`` lets both): a model cut short by the cap writes fewer
real words and so copies fewer 8-grams (fresh real text, the holdout, shares over half).

``--chinook``: the Chinook customers table (59 made-up customers: names, company,
address, phone, fax, email; ``id`` dropped), a fifth held out: each text column's
verbatim-copy rate beside the holdout's, email validity and phone/fax validity (an
international number: ``+``, a country code, digits, spaces, parentheses, hyphens; the
training values' own share beside), and the share keeping a training value's digit layout.
``--chinook-epochs N`` trains N epochs at a constant rate instead of the defaults.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from synthloom.report.metrics import tvd_accuracy
from synthloom.report.values import value_copies
from synthloom.synthesizers.table import TableSynthesizer
from synthloom.synthesizers.text import TextSynthesizer

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
# Chinook: names with accents (stanisław.wójcik@wp.pl) and international numbers.
EMAIL_ANY = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}")
PHONE_INTL = re.compile(r"\+\d{1,3}(?: ?\(\d{1,4}\))?(?:[ -]?\d+)+")
STRING_COLUMNS = ["name", "email", "phone"]


def made_up(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
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
    train: pd.DataFrame,
    records: int,
    cap: float,
    columns: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, float, float, dict[str, Any]]:
    """Train a table model under ``cap`` seconds, generate ``records`` rows; times."""
    settings = {"epochs": 100, "validation_split": 0.1, "seed": 0, **BATCH, **options}
    synth = TableSynthesizer(**settings, max_training_time_seconds=cap, columns=columns or {})
    start = time.perf_counter()
    synth.fit(train, Path(tempfile.mkdtemp()) / "m")
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = synth.generate(records, seed=1)
    gen_seconds = time.perf_counter() - start
    result = synth.training_result_
    info = {
        "epochs": len(result.history) if result else 0,
        "stop": result.stop_reason if result else "none",
        "stats": synth.generation_stats_,
    }
    return out, train_seconds, gen_seconds, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--time-cap", type=float, default=60.0)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--notes", action="store_true")
    parser.add_argument("--note-weight", type=float, default=None)
    parser.add_argument(
        "--text-set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="--notes: a params option of the text engine alone (YAML value), e.g. "
        "--text-set vocab_size=0; repeatable",
    )
    parser.add_argument("--chinook", action="store_true")
    parser.add_argument(
        "--chinook-epochs",
        type=int,
        default=None,
        help="this many epochs at a constant learning rate, no validation rows, no early "
        "stopping (default: the table defaults, as for Adult)",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="default: table default")
    parser.add_argument("--categorical-baseline", action="store_true")
    args = parser.parse_args()
    if args.batch_size:
        BATCH["batch_size"] = args.batch_size
    if args.chinook:
        if args.chinook_epochs:
            CHINOOK.update(
                epochs=args.chinook_epochs,
                validation_split=False,
                early_stopping=False,
                learning_rate_schedule="constant",
            )
        chinook(args.records, args.time_cap)
        return
    adult = pd.read_csv(SHARED / "tabular" / "adult.csv")
    sample = adult.sample(args.rows + args.rows // 4, random_state=0).reset_index(drop=True)
    base_train = sample.iloc[: args.rows].reset_index(drop=True)
    base_hold = sample.iloc[args.rows :].reset_index(drop=True)
    adult_columns = list(adult.columns)
    plain, t_plain, g_plain, i_plain = run(base_train, args.records, args.time_cap)
    print(
        f"rows {args.rows}, holdout {len(base_hold)}, records {args.records}, cap {args.time_cap} s"
    )
    print(
        f"adult only:   train {t_plain:.1f} s ({i_plain['epochs']} epochs), "
        f"generate {g_plain:.2f} s"
    )
    if args.notes:
        notes_run(base_train, base_hold, plain, (t_plain, g_plain), args)
        return
    train, hold = made_up(base_train, 1), made_up(base_hold, 2)
    rich, t_rich, g_rich, i_rich = run(train, args.records, args.time_cap)
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
        forced = {c: "categorical" for c in STRING_COLUMNS}
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
    """Copies, validity and name bigram accuracy of the made-up columns."""
    extra = [c for c in train.columns if c not in adult_columns]
    print_copies(train, hold, out, extra, label)
    emails = out["email"].dropna().astype(str)
    phones = out["phone"].dropna().astype(str)
    print(
        f"[{label}] email validity {emails.map(lambda e: bool(EMAIL.fullmatch(e))).mean():.4f}"
        f" of {len(emails)}; phone pattern validity "
        f"{phones.map(lambda p: bool(PHONE.fullmatch(p))).mean():.4f} of {len(phones)}"
    )
    ceiling = np.mean(
        [
            bigram_accuracy(
                hold["name"], train["name"].sample(len(out), replace=True, random_state=s)
            )
            for s in range(5)
        ]
    )
    print(
        f"[{label}] name bigram accuracy vs holdout "
        f"{bigram_accuracy(hold['name'], out['name']):.4f}"
        f" (training names vs holdout {bigram_accuracy(hold['name'], train['name']):.4f}; "
        f"{len(out)} drawn from the training names {ceiling:.4f}); "
        f"distinct names {out['name'].nunique()} of {out['name'].notna().sum()}"
    )
    print(f"[{label}] examples: {out[extra].head(3).to_dict('records')}")


def print_copies(
    train: pd.DataFrame, hold: pd.DataFrame, out: pd.DataFrame, columns: list[str], label: str
) -> None:
    """Per column: verbatim training values (holdout beside); long text's statistics."""
    for c in value_copies(train, out, hold, columns):
        line = (
            f"[{label}] {c.column}: verbatim training values {100 * c.synthetic_share:.1f}% "
            f"(holdout {100 * (c.holdout_share or 0):.1f}%)"
        )
        if c.text is not None:
            line += "; " + text_line(c.text)
        print(line)


def text_line(t: Any) -> str:
    return (
        f"length accuracy {t.length_accuracy:.3f} (holdout {t.length_accuracy_holdout:.3f}), "
        f"8-gram copy share {t.ngram_copy_share:.3f} (holdout {t.ngram_copy_share_holdout:.3f}), "
        f"vocabulary overlap {t.vocabulary_overlap:.3f} "
        f"(holdout {t.vocabulary_overlap_holdout:.3f})"
    )


def notes_run(
    base_train: pd.DataFrame,
    base_hold: pd.DataFrame,
    plain: pd.DataFrame,
    plain_times: tuple[float, float],
    args: argparse.Namespace,
) -> None:
    """Adult + a note column against Adult alone and against the text engine alone."""
    lines = (SHARED / "text" / "fortunes.txt").read_text(encoding="utf-8").splitlines()
    pool = np.array([x for x in lines if 20 <= len(x) <= 120], dtype=object)
    train = base_train.assign(note=np.random.default_rng(1).choice(pool, len(base_train)))
    hold = base_hold.assign(note=np.random.default_rng(2).choice(pool, len(base_hold)))
    columns = {"note": {"loss_weight": args.note_weight}} if args.note_weight else None
    rich, t_rich, g_rich, i_rich = run(train, args.records, args.time_cap, columns)
    print(
        f"adult + note{f' (loss_weight {args.note_weight:g})' if columns else ''}: train "
        f"{t_rich:.1f} s ({i_rich['epochs']} epochs, stopped by {i_rich['stop']}), "
        f"generate {g_rich:.2f} s; time ratio "
        f"train {t_rich / plain_times[0]:.2f}, generate {g_rich / plain_times[1]:.2f}; "
        f"stats {i_rich['stats']}"
    )
    print_copies(train, hold, rich, ["note"], "adult + note")
    adult_columns = list(base_train.columns)
    acc_plain = tvd_accuracy(base_hold, plain[adult_columns]).univariate_mean
    acc_rich = tvd_accuracy(base_hold, rich[adult_columns]).univariate_mean
    print(
        f"adult columns' univariate TVD accuracy vs holdout: without the note {acc_plain:.4f}, "
        f"with it {acc_rich:.4f} (difference {acc_rich - acc_plain:+.4f})"
    )
    chosen = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.text_set)}
    text = TextSynthesizer(
        **{"max_training_time_seconds": args.time_cap, "validation_split": 0.1, "seed": 0, **chosen}
    )
    start = time.perf_counter()
    text.fit(train["note"].tolist(), Path(tempfile.mkdtemp()) / "t")
    t_text = time.perf_counter() - start
    start = time.perf_counter()
    made = [r.text for r in text.generate(args.records, seed=1) if r.valid]
    g_text = time.perf_counter() - start
    alone = pd.DataFrame({"note": made})
    result = text.training_result_
    epochs = len(result.history) if result else 0
    print(
        f"text engine alone{f' {chosen}' if chosen else ' (its defaults)'}: train {t_text:.1f} s "
        f"({epochs} epochs, stopped by {result.stop_reason if result else 'none'}), "
        f"generate {g_text:.2f} s"
    )
    print_copies(train, hold, alone, ["note"], "text engine alone")
    print(f"[adult + note] examples: {rich['note'].head(3).tolist()}")
    print(f"[text engine alone] examples: {alone['note'].head(3).tolist()}")


CHINOOK: dict[str, Any] = {}


def chinook(records: int, cap: float) -> None:
    """The Chinook customers: copies beside the holdout's, email and phone validity."""
    path = SHARED / "relational" / "chinook" / "chinook.sqlite"
    with sqlite3.connect(path) as connection:
        customers = pd.read_sql("select * from customer", connection).drop(columns="id")
    customers = customers.sample(frac=1, random_state=0).reset_index(drop=True)
    n_hold = len(customers) // 5
    hold, train = customers.iloc[:n_hold], customers.iloc[n_hold:].reset_index(drop=True)
    out, t_train, t_gen, info = run(train, records, cap, **CHINOOK)
    print(
        f"chinook customers: train {len(train)} rows, holdout {len(hold)}, records {records}; "
        f"train {t_train:.1f} s ({info['epochs']} epochs), generate {t_gen:.2f} s; "
        f"stats {info['stats']}"
    )
    text_columns = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    print_copies(train, hold, out, text_columns, "chinook")

    def share(values: pd.Series, pattern: re.Pattern[str]) -> str:
        values = values.dropna().astype(str)
        matched = np.mean([bool(pattern.fullmatch(v)) for v in values]) if len(values) else 0.0
        return f"{matched:.4f} of {len(values)}"

    layouts = {re.sub(r"\d", "9", v) for c in ("phone", "fax") for v in train[c].dropna()}

    def layout(values: pd.Series) -> float:
        present = values.dropna()
        return float(np.mean([re.sub(r"\d", "9", str(v)) in layouts for v in present]))

    print(
        f"[chinook] email validity {share(out['email'], EMAIL_ANY)} (training "
        f"{share(train['email'], EMAIL_ANY)}); phone validity {share(out['phone'], PHONE_INTL)}"
        f", fax {share(out['fax'], PHONE_INTL)} (training {share(train['phone'], PHONE_INTL)});"
        f" phones with a training value's digit layout {layout(out['phone']):.3f} "
        f"(holdout {layout(hold['phone']):.3f})"
    )
    print(f"[chinook] examples: {out.head(3).to_dict('records')}")


if __name__ == "__main__":
    main()
