"""Adult benchmark: train under a time cap, generate 5,000 rows, score against the holdout.

Usage: python benchmarks/adult.py [--time-cap 120] [--records 5000] [--validation-split 0.1]
                                  [--set PARAM=VALUE ...] [--data TABLE [--drop COLS]]
Prints train seconds, generated records/s, valid share, TVD accuracy, C2ST AUC (a
classifier telling holdout rows from synthetic ones; 0.5 is best), DCR share and the
membership-inference attack's AUC and ε lower bound (docs/METRICS.md).

TVD accuracy is printed twice. As mostlyai-qa defines it, synthetic rows are scored
against the *training* rows, next to its reference ("overall_max"): a same-sized holdout
sample scored the same way. Scored against the holdout instead, the ceiling is lower on
Adult (a real training sample of 5,000 rows scores 0.977-0.980 against adult_test.csv,
whose distribution differs a little from adult.csv); ``--reference`` prints that ceiling.

Marks to beat (TARGETS.md, MOSTLY AI engine 2.7.3 on this machine): train 158 s,
13,100 records/s, TVD 0.975, C2ST AUC 0.570.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from synthloom.io.tables import read_table
from synthloom.report.attacks import membership_attack
from synthloom.report.metrics import dcr, discriminator_auc, tvd_accuracy
from synthloom.report.privacy import knn_privacy
from synthloom.synthesizers.table import TableSynthesizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tabular"


def split_table(name: str, drop: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A table (without ``drop``) cut into 80% training and 20% holdout rows at random."""
    path = Path(name) if Path(name).exists() else DATA.parent / name
    frame, _ = read_table(path)
    frame = frame.drop(columns=drop)
    holdout = frame.sample(frac=0.2, random_state=0)
    return frame.drop(index=holdout.index).reset_index(drop=True), holdout.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-cap", type=float, default=120.0)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--reference", action="store_true", help="also score a real sample")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument(
        "--validation-split",
        type=float,
        default=None,
        help="share held out for early stopping (default: the library's, 10%%; 0: train on "
        "every row, stop at the cap)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="a params option (YAML value), e.g. --set learning_rate=0.008; repeatable",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="another table (path, or under ../shared/data): a random 20%% is the holdout",
    )
    parser.add_argument("--drop", default="", help="columns of --data to leave out (a,b)")
    args = parser.parse_args()
    chosen = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}

    if args.data:
        train, holdout = split_table(args.data, [c for c in args.drop.split(",") if c])
    else:
        train, _ = read_table(DATA / "adult.csv")
        holdout, _ = read_table(DATA / "adult_test.csv")
    synth = TableSynthesizer(
        epochs=args.epochs,
        **(
            {}
            if args.validation_split is None
            else {"validation_split": args.validation_split or False}
        ),
        max_training_time_seconds=args.time_cap,
        seed=args.seed,
        **chosen,
    )
    model_dir = Path(tempfile.mkdtemp()) / "adult"
    start = time.perf_counter()
    synth.fit(train, model_dir)
    train_seconds = time.perf_counter() - start
    result = synth.training_result_
    assert result is not None

    timings = []
    for seed in (1, 2, 3):  # the first call is cold; report it and the median
        start = time.perf_counter()
        generated = synth.generate(args.records, seed=seed)
        timings.append(time.perf_counter() - start)
        if seed == 1:
            synthetic, stats = generated, dict(synth.generation_stats_)
    gen_seconds = sorted(timings)[1]

    accuracy = tvd_accuracy(train, synthetic)
    holdout_accuracy = tvd_accuracy(holdout, synthetic)
    reference = tvd_accuracy(train, holdout.sample(min(args.records, len(holdout)), random_state=0))
    privacy = dcr(train, holdout, synthetic)
    print(
        f"train_seconds: {train_seconds:.1f} "
        f"(epochs {len(result.history)}, stop {result.stop_reason})"
    )
    print(
        f"generate_records_per_second: {args.records / gen_seconds:,.0f} "
        f"(median of 3 calls; first call {args.records / timings[0]:,.0f})"
    )
    print(
        f"valid_share: {stats['valid'] / (stats['valid'] + stats['invalid']):.4f} "
        f"(invalid attempts {stats['invalid']})"
    )
    print(
        f"tvd_accuracy_overall: {accuracy.overall:.4f} "
        f"(univariate {accuracy.univariate_mean:.4f}, bivariate {accuracy.bivariate_mean:.4f}; "
        f"against the training rows, as mostlyai-qa; a same-sized holdout sample scores "
        f"{reference.overall:.4f})"
    )
    print(f"tvd_accuracy_against_holdout: {holdout_accuracy.overall:.4f}")
    auc = discriminator_auc(holdout, synthetic)
    print(f"c2st_auc: {auc:.3f} (gradient boosting, holdout vs synthetic, 5-fold)")
    print(f"dcr_share: {privacy.dcr_share:.3f} (exact copies {privacy.exact_copy_share:.4f})")
    knn = knn_privacy(train, synthetic, holdout, list(train.columns), 10_000, 0)
    attack = membership_attack(knn.member_d_synthetic, knn.non_member_d_synthetic)
    assert attack is not None
    print(
        f"membership_inference_auc: {attack.auc:.3f} (95% {attack.auc_low:.3f}-"
        f"{attack.auc_high:.3f}; {attack.n_members:,} members, distance attack); "
        f"epsilon_lower_bound: {attack.epsilon_lower_bound:.2f} at delta 0"
    )
    if args.reference:
        sample = train.sample(args.records, random_state=0)
        ceiling = tvd_accuracy(holdout, sample).overall
        print(f"reference_real_sample_tvd_against_holdout: {ceiling:.4f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak_rss_mb: {rss:,.0f}")


if __name__ == "__main__":
    main()
