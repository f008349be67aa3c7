"""The bad-input suite: careless and hostile input against the CLI, one case per class.

Each case builds its own tiny files, runs one command and is scored three ways: handled
(the expected exit code and message, no traceback), a traceback (an exception escaped, or
the catch-all "internal error" line), and data lost (a file it must not touch changed).
``benchmarks/bad_input.py`` runs the same cases and prints the counts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthloom.cli import app

TINY_PARAMS = {
    "vocab_size": 0,
    "epochs": 1,
    "rnn_units": 16,
    "embedding_dim": 8,
    "rnn_layers": 1,
    "batch_size": 32,
    "seed": 0,
}


def config_text(engine: str = "synthetics", **sections: object) -> str:
    """A one-model YAML config with tiny params and extra ``sections``."""
    body = {"params": dict(TINY_PARAMS), **sections}
    return yaml.safe_dump({"schema_version": "1.0", "models": [{engine: body}]})


def small_table(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.integers(0, 5, rows),
            "b": rng.choice(["x", "y", "z"], rows),
            "c": rng.normal(size=rows).round(2),
        }
    )


@dataclass
class Env:
    """What a case may use: its own empty folder and the shared trained models."""

    tmp: Path
    shared: Path

    @property
    def table_model(self) -> Path:
        return self.shared / "table_model"

    @property
    def text_model(self) -> Path:
        return self.shared / "text_model"

    @property
    def seeded_model(self) -> Path:
        return self.shared / "seeded_model"

    @property
    def table_data(self) -> Path:
        return self.shared / "table.csv"

    @property
    def config(self) -> Path:
        return self.shared / "config.yaml"

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path


def build_shared(root: Path) -> Path:
    """Train the tiny models every case shares (once per session)."""
    root.mkdir(parents=True, exist_ok=True)
    small_table().to_csv(root / "table.csv", index=False)
    lines = [f"hello world number {i}" for i in range(60)]
    (root / "lines.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "config.yaml").write_text(config_text(), encoding="utf-8")
    seeded = config_text(
        "amplify",
        task={"type": "seed", "attrs": {"fields": ["b"]}},
        generate={"rebalance": {"b": {"x": 0.8}}},
    )
    (root / "seeded.yaml").write_text(seeded, encoding="utf-8")
    runs = [
        ("config.yaml", "table.csv", "table_model"),
        ("config.yaml", "lines.txt", "text_model"),
        ("seeded.yaml", "table.csv", "seeded_model"),
    ]
    for config, data, model in runs:
        args = ["train", str(root / config), "--data", str(root / data)]
        result = CliRunner().invoke(app, [*args, "--model-dir", str(root / model), "--quiet"])
        assert result.exit_code == 0, result.output
    return root


@dataclass(frozen=True)
class Case:
    """One bad input: ``build`` writes its files and returns the CLI arguments."""

    name: str
    section: str
    build: Callable[[Env], list]
    expect: str
    code: int = 2
    keep: tuple[str, ...] = ()  # files (relative to the case folder) that must not change
    # A case that cannot run in-process (a real Ctrl-C) scores itself.
    run: Callable[[Env], Outcome] | None = None
    # For values that could be lost silently: False means they were (data lost).
    check: Callable[[Env], bool] | None = None


@dataclass
class Outcome:
    handled: bool
    traceback: bool
    lost: bool
    output: str
    lost_files: list[str] = field(default_factory=list)


def _digest(path: Path) -> str:
    if path.is_dir():
        parts = sorted(
            f"{p.relative_to(path)}:{_digest(p)}" for p in path.rglob("*") if p.is_file()
        )
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def run_case(case: Case, env: Env) -> Outcome:
    """Run ``case`` and score it; warnings logged by synthloom count as output."""
    if case.run is not None:
        return case.run(env)
    args = [str(a) for a in case.build(env)]
    watched = [env.tmp / k for k in case.keep] + [
        env.table_model,
        env.text_model,
        env.seeded_model,
        env.table_data,
    ]
    before = {p: _digest(p) for p in watched}
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("synthloom")
    logger.addHandler(handler)
    try:
        result = CliRunner().invoke(app, args)
    finally:
        logger.removeHandler(handler)
    output = result.output + "\n".join(records)
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    traceback = escaped or "Traceback" in output or "internal error" in output
    lost_files = [str(p) for p in watched if _digest(p) != before[p]]
    if case.check is not None and result.exit_code == 0 and not case.check(env):
        lost_files.append("values missing from the output")
    handled = (
        not traceback
        and not lost_files
        and result.exit_code == case.code
        and " ".join(case.expect.lower().split()) in " ".join(output.lower().split())
    )
    return Outcome(handled, traceback, bool(lost_files), output, lost_files)


# --------------------------------------------------------------------------- the cases


def _gen(env: Env, model: Path, output: Path | str, *more: object) -> list:
    return ["generate", "--model-dir", model, "--output", output, "--no-report", *more]


def _gen_table(env: Env, output: Path | str, *more: object) -> list:
    return _gen(env, env.table_model, output, "--num-records", 5, *more)


def _train(env: Env, data: Path, *more: object) -> list:
    return ["train", env.config, "--data", data, "--model-dir", env.tmp / "m", "--quiet", *more]


def _existing_output(env: Env) -> list:
    env.write("out.csv", "keep me\n")
    return _gen_table(env, env.tmp / "out.csv")


def _read_only_dir(env: Env) -> Path:
    """A folder nobody can write: chmod 555, or /sys/fs where root ignores the mode."""
    folder = env.tmp / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root: the mode bits do not stop it
        folder = Path("/sys/fs")
        if not folder.is_dir():
            pytest.skip("no folder that root cannot write")
    return folder


def _report_args(env: Env, output: Path, *more: object) -> list:
    data = env.table_data
    return ["report", "--real", data, "--synthetic", data, "--output", output, *more]


def _relational_source(env: Env, child_rows: int = 12) -> tuple[Path, Path]:
    source = env.tmp / "db"
    source.mkdir()
    parents = pd.DataFrame({"id": range(6), "kind": list("abcabc")})
    children = pd.DataFrame(
        {"id": range(child_rows), "parent_id": [i % 6 for i in range(child_rows)]}
    )
    children["value"] = [i % 3 for i in range(child_rows)]
    parents.to_csv(source / "parents.csv", index=False)
    children.to_csv(source / "children.csv", index=False)
    config = {
        "engine": "amplify",
        "params": {"seed": 0},
        "tables": {
            "parents": {"primary_key": ["id"]},
            "children": {
                "primary_key": ["id"],
                "foreign_keys": [{"columns": ["parent_id"], "references": {"table": "parents"}}],
            },
        },
    }
    path = env.tmp / "rel.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return source, path


def _parquet(env: Env, frame: pd.DataFrame) -> Path:
    path = env.tmp / "data.parquet"
    frame.to_parquet(path)
    return path


def _relational_model(env: Env) -> Path:
    source, config = _relational_source(env)
    model = env.tmp / "rel_model"
    args = ["relational", "train", config, "--source", source, "--model-dir", model, "--quiet"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return model


def _damaged_model(env: Env, damage: Callable[[Path], None]) -> list:
    import shutil

    model = env.tmp / "copy"
    shutil.copytree(env.table_model, model)
    damage(model)
    return _gen(env, model, env.tmp / "o.csv", "--num-records", 5)


def _edit_params(model: Path) -> None:
    params = json.loads((model / "model_params.json").read_text())
    params["parts"][0]["model_shape"]["rnn_units"] = 10**9
    (model / "model_params.json").write_text(json.dumps(params))


def _interrupted(env: Env, args: list, staging_glob: str, keep: Path, expect: str) -> Outcome:
    """Start ``synthloom ARGS``, press Ctrl-C once training has written a checkpoint into
    the staging folder, and check the exit code, the message and that ``keep`` survived."""
    before = _digest(keep)
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthloom", *[str(a) for a in args]],
        cwd=env.tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    deadline = time.monotonic() + 120
    while not list(env.tmp.glob(staging_glob)) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # Ctrl-C did not end the run: that is the bug
        proc.kill()
        output = proc.communicate()[0] + "\n(still running 60 s after Ctrl-C)"
    traceback = "Traceback" in output or "internal error" in output
    leftovers = [p.name for p in env.tmp.glob(".*.training-*")]
    lost = _digest(keep) != before
    handled = (
        proc.returncode == 130 and expect in output and not traceback and not lost and not leftovers
    )
    return Outcome(handled, traceback, lost, output + f"\nleftovers: {leftovers}", [])


def _long_config(env: Env) -> Path:
    params = {**TINY_PARAMS, "epochs": 100000, "early_stopping": False}  # runs until Ctrl-C
    text = yaml.safe_dump({"schema_version": "1.0", "models": [{"synthetics": {"params": params}}]})
    return env.write("long.yaml", text)


def _ctrl_c_overwrite(env: Env) -> Outcome:
    import shutil

    model = env.tmp / "m"
    shutil.copytree(env.text_model, model)
    args = ["train", _long_config(env), "--data", env.shared / "lines.txt", "--model-dir", model]
    return _interrupted(
        env, [*args, "--overwrite", "--quiet"], ".m.training-*/history.csv", model, "is kept"
    )


def _ctrl_c_relational(env: Env) -> Outcome:
    source, config = _relational_source(env)
    data = yaml.safe_load(config.read_text())
    # no early stopping: tiny tables would otherwise finish before Ctrl-C arrives
    data.update(engine="lstm", params={**TINY_PARAMS, "epochs": 100000, "early_stopping": False})
    config.write_text(yaml.safe_dump(data))
    model = env.tmp / "rel_model"
    model.mkdir()
    (model / "model_params.json").write_text('{"data_kind": "relational"}')  # an "old model"
    args = ["relational", "train", config, "--source", source, "--model-dir", model]
    return _interrupted(
        env,
        [*args, "--overwrite", "--quiet"],
        ".rel_model.training-*/tables/*/history.csv",
        model,
        "relational training stopped",
    )


def _ctrl_c_at_start_up(env: Env) -> Outcome:
    """Ctrl-C while the command imports torch: the import raises KeyboardInterrupt."""
    script = (
        "import builtins\n"
        "real = builtins.__import__\n"
        "def guarded(name, *args, **kwargs):\n"
        "    if name == 'torch':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = guarded\n"
        "from synthloom.__main__ import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    output = proc.stdout + proc.stderr
    traceback = "Traceback" in output
    handled = proc.returncode == 130 and "interrupted" in output and not traceback
    return Outcome(handled, traceback, False, output)


def _train_table(env: Env, frame: pd.DataFrame | None = None, *more: object) -> list:
    path = env.tmp / "data.csv"
    (small_table() if frame is None else frame).to_csv(path, index=False)
    return _train(env, path, *more)


def _dp_config(env: Env) -> list:
    params = {**TINY_PARAMS, "dp": True, "dp_epsilon": 1e9}
    config = {"schema_version": "1.0", "models": [{"synthetics": {"params": params}}]}
    path = env.write("dp.yaml", yaml.safe_dump(config))
    data = env.write("lines.txt", "\n".join(f"line {i}" for i in range(40)))
    return ["train", path, "--data", data, "--model-dir", env.tmp / "m", "--quiet"]


def _seeds(env: Env, values: list[str], *more: object) -> list:
    seeds = env.write("seeds.csv", "b\n" + "\n".join(values) + "\n")
    return _gen(env, env.seeded_model, env.tmp / "o.csv", "--seeds", seeds, *more)


def _relational_with(env: Env, change: Callable[[dict, Path], None]) -> list:
    source, config = _relational_source(env)
    data = yaml.safe_load(config.read_text())
    change(data, source)
    config.write_text(yaml.safe_dump(data))
    return ["relational", "train", config, "--source", source, "--model-dir", env.tmp / "m"]


def _fk_to_missing(data: dict, source: Path) -> None:
    data["tables"]["children"]["foreign_keys"][0]["references"]["table"] = "nosuch"


def _empty_child(data: dict, source: Path) -> None:
    (source / "children.csv").write_text("id,parent_id,value\n")


def _extremes(env: Env) -> list:
    frame = pd.DataFrame({"a": [1.5, 1e308, -1e308, 2.25, 3.0] * 20, "b": list("xyzwv") * 20})
    result = CliRunner().invoke(app, [str(a) for a in _train_table(env, frame)])
    assert result.exit_code == 0, result.output
    return _gen(env, env.tmp / "m", env.tmp / "o.csv", "--num-records", 200, "--seed", 0)


def _extremes_kept(env: Env) -> bool:
    values = set(pd.read_csv(env.tmp / "o.csv")["a"])
    return {1e308, -1e308} <= values


CASES = [
    Case("Ctrl-C during start-up", "traceback", lambda env: [], "", run=_ctrl_c_at_start_up),
    Case("Ctrl-C during train --overwrite", "lost", lambda env: [], "", run=_ctrl_c_overwrite),
    Case("Ctrl-C during relational train", "lost", lambda env: [], "", run=_ctrl_c_relational),
    # --- 3. nothing lost
    Case("existing output", "lost", _existing_output, "--overwrite", keep=("out.csv",)),
    Case(
        "output onto the training data",
        "lost",
        lambda env: _gen_table(env, env.table_data, "--overwrite"),
        "training data",
    ),
    Case(
        "output into the model dir",
        "lost",
        lambda env: _gen_table(env, env.table_model / "model_params.json", "--overwrite"),
        "inside the model dir",
    ),
    Case(
        "truncated weights",
        "lost",
        lambda env: _damaged_model(
            env, lambda m: (m / "weights.safetensors").write_bytes(b"\0" * 10)
        ),
        "model dir is damaged",
    ),
    Case(
        "empty model_params.json",
        "lost",
        lambda env: _damaged_model(env, lambda m: (m / "model_params.json").write_text("")),
        "model dir is damaged",
    ),
    Case(
        "edited shape (huge allocation)",
        "lost",
        lambda env: _damaged_model(env, _edit_params),
        "model dir is damaged",
    ),
    Case(
        "model dir without a manifest (older synthloom)",
        "lost",
        lambda env: _damaged_model(env, lambda m: (m / "manifest.json").unlink()),
        "has no manifest.json",
        code=0,
    ),
    Case(
        "--output is the --seeds file",
        "lost",
        lambda env: _gen(
            env,
            env.seeded_model,
            env.write("s.csv", "b\nx\n"),
            "--seeds",
            env.tmp / "s.csv",
            "--overwrite",
        ),
        "is the --seeds file",
        keep=("s.csv",),
    ),
    Case(
        "edited shape, no manifest",
        "lost",
        lambda env: _damaged_model(
            env, lambda m: (_edit_params(m), (m / "manifest.json").unlink())
        ),
        "model dir is damaged",
    ),
    # --- 4. tracebacks
    Case(
        "negative --seed",
        "traceback",
        lambda env: _gen_table(env, env.tmp / "o.csv", "--seed", -5),
        "seed=-5",
    ),
    Case(
        "--output an existing folder",
        "traceback",
        lambda env: _gen_table(env, env.tmp),
        "is a folder",
    ),
    Case(
        "report --output an existing file",
        "traceback",
        lambda env: _report_args(env, env.write("r.txt", "keep")),
        "is a file",
        keep=("r.txt",),
    ),
    Case(
        "generate into a read-only folder",
        "traceback",
        lambda env: _gen_table(env, _read_only_dir(env) / "o.csv"),
        "permission denied",
    ),
    Case(
        "train into a read-only folder",
        "traceback",
        lambda env: [
            "train",
            env.config,
            "--data",
            env.table_data,
            "--model-dir",
            _read_only_dir(env) / "m",
            "--quiet",
        ],
        "permission denied",
    ),
    Case(
        "report into a read-only folder",
        "traceback",
        lambda env: _report_args(env, _read_only_dir(env) / "rep"),
        "permission denied",
    ),
    Case(
        "relational generate to a read-only folder",
        "traceback",
        lambda env: [
            "relational",
            "generate",
            "--model-dir",
            _relational_model(env),
            "--destination",
            _read_only_dir(env) / "out",
            "--no-report",
        ],
        "permission denied",
    ),
    Case(
        "unsupported destination URL scheme",
        "traceback",
        lambda env: [
            "relational",
            "generate",
            "--model-dir",
            _relational_model(env),
            "--destination",
            "nosuchscheme://bucket/x",
            "--no-report",
        ],
        "nosuchscheme",
    ),
    Case(
        "rebalance with the amplify engine",
        "traceback",
        lambda env: _gen(env, env.seeded_model, env.tmp / "o.csv", "--num-records", 20),
        "wrote 20 records",
        code=0,
    ),
    # --- 4. values lost silently
    Case(
        "text output named .xlsx",
        "silent",
        lambda env: _gen(env, env.text_model, env.tmp / "o.xlsx", "--num-records", 3),
        "name the output .txt",
    ),
    Case(
        "text output named .parquet",
        "silent",
        lambda env: _gen(env, env.text_model, env.tmp / "o.parquet", "--num-records", 3),
        "name the output .txt",
    ),
    Case(
        "--parallelism -2",
        "silent",
        lambda env: _gen(env, env.text_model, env.tmp / "o.txt", "--parallelism", -2),
        "parallelism=-2",
    ),
    Case(
        "--max-invalid -3 (table)",
        "message",
        lambda env: _gen_table(env, env.tmp / "o.csv", "--max-invalid", -3),
        "max_invalid=-3",
    ),
    Case(
        "config path is a folder",
        "message",
        lambda env: ["train", env.tmp, "--data", env.table_data, "--model-dir", env.tmp / "m"],
        "is a folder",
    ),
    Case(
        "±1e308 in a numeric column",
        "silent",
        _extremes,
        "0 invalid discarded",
        code=0,
        check=_extremes_kept,
    ),
    Case(
        ".xlsx name holding CSV",
        "silent",
        lambda env: _train(env, env.write("data.xlsx", small_table().to_csv(index=False))),
        "does not read .xlsx",
    ),
    Case(
        "table --output .xlsx",
        "silent",
        lambda env: _gen_table(env, env.tmp / "o.xlsx"),
        "does not write .xlsx",
    ),
    Case(
        "nested Parquet columns",
        "silent",
        lambda env: _train(
            env,
            _parquet(env, pd.DataFrame({"a": [[1, 2], [3]] * 10, "b": [{"k": 1}, {"k": 2}] * 10})),
        ),
        "holds lists",
    ),
    Case(
        "nested JSON objects",
        "silent",
        lambda env: _train(
            env,
            env.write(
                "n.jsonl", "\n".join(json.dumps({"a": i, "b": {"k": [i]}}) for i in range(20))
            ),
        ),
        "holds objects",
    ),
    Case(
        "seeds file shorter than --num-records",
        "silent",
        lambda env: _seeds(env, ["x", "y"], "--num-records", 10),
        "one record per seed row",
        code=0,
    ),
    Case(
        "seed values never seen in training",
        "silent",
        lambda env: _seeds(env, ["x", "never-seen"]),
        "never seen in training",
        code=0,
    ),
    Case("dp_epsilon: 1e9", "silent", _dp_config, "no meaningful privacy", code=0),
    Case(
        "1-row table",
        "privacy",
        lambda env: _train_table(env, small_table(1)),
        "only 1 row",
    ),
    Case(
        "tiny table, forced",
        "privacy",
        lambda env: _train_table(env, small_table(5), "--force"),
        "may copy real ones",
        code=0,
    ),
    Case(
        "UTF-16 input",
        "message",
        lambda env: _train(env, env.write("u16.txt", "hello\nworld\n".encode("utf-16"))),
        "iconv -f UTF-16",
    ),
    Case(
        "1M-character CSV field",
        "message",
        lambda env: _train(env, env.write("big.csv", 'a,b\n1,"' + "x" * 20_000_000 + "\n")),
        "longer than",
    ),
    Case(
        "CR-only line ends (text)",
        "message",
        lambda env: _train(env, env.write("cr.txt", b"one\rtwo\rthree\r")),
        "line 1 holds a line break",
    ),
    Case(
        "report on a .txt",
        "message",
        lambda env: [
            "report",
            "--real",
            env.write("t.txt", "some text\nmore\n"),
            "--synthetic",
            env.table_data,
            "--output",
            env.tmp / "rep",
        ],
        "--field-delimiter",
    ),
    Case(
        "holdout with other columns",
        "message",
        lambda env: _report_args(
            env, env.tmp / "rep", "--holdout", env.write("h.csv", "p,q\n1,2\n")
        ),
        "the holdout data",
    ),
    Case(
        "SQLite destination in a missing folder",
        "message",
        lambda env: [
            "relational",
            "generate",
            "--model-dir",
            _relational_model(env),
            "--destination",
            f"sqlite:///{env.tmp / 'new' / 'folder' / 'x.sqlite'}",
            "--no-report",
        ],
        "referential integrity 100%",
        code=0,
    ),
    Case(
        "SQLite destination in a read-only folder",
        "message",
        lambda env: [
            "relational",
            "generate",
            "--model-dir",
            _relational_model(env),
            "--destination",
            f"sqlite:///{_read_only_dir(env) / 'x.sqlite'}",
            "--no-report",
        ],
        "cannot be written",
    ),
    Case(
        "relational destination onto the source",
        "lost",
        lambda env: [
            "relational",
            "generate",
            "--model-dir",
            _relational_model(env),
            "--destination",
            env.tmp / "db",
            "--overwrite",
            "--no-report",
        ],
        "training data",
        keep=("db/parents.csv", "db/children.csv"),
    ),
    Case(
        "FK to a missing table",
        "message",
        lambda env: _relational_with(env, _fk_to_missing),
        "table nosuch does not exist",
    ),
    Case(
        "empty child table",
        "message",
        lambda env: _relational_with(env, _empty_child),
        "children",
    ),
]


# ----------------------------------------------------------------------------- pytest


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shared(tmp_path_factory.mktemp("bad_input_shared"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, shared: Path, tmp_path: Path) -> None:
    outcome = run_case(case, Env(tmp_path, shared))
    assert not outcome.traceback, outcome.output
    assert not outcome.lost, outcome.lost_files
    assert outcome.handled, outcome.output


def test_error_lines_keep_square_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    """An install hint like synthloom[s3] is printed as written, not taken for markup."""
    import typer

    from synthloom.cli.common import fail

    with pytest.raises(typer.Exit):
        fail("install it: pip install 'synthloom[s3]'")
    assert "synthloom[s3]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["generate", "--model-dir", "m", "--output", "o.csv"],
        ["relational", "generate", "--model-dir", "m", "--destination", "out"],
    ],
)
def test_an_absurd_record_count_is_refused_before_any_work(command: list[str]) -> None:
    from typer.testing import CliRunner

    from synthloom.cli import app

    result = CliRunner().invoke(app, [*command, "--num-records", "99999999999999999999"])
    assert result.exit_code == 2 and "1000000000" in result.output
    assert "Traceback" not in result.output
