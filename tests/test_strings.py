"""Near-unique text columns (emails, names, ids, notes) are spelled, never copied."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthloom import TableSynthesizer
from synthloom.encoding.columns import CopyGuard
from synthloom.encoding.fields import (
    PUBLIC_CHARS,
    CategoricalField,
    StringField,
    TableCodec,
    decide_kind,
)
from synthloom.errors import ConfigError, DataError
from synthloom.io.model_dir import read_json
from synthloom.io.tables import describe_frame
from synthloom.privacy.protection import RARE
from tests.conftest import TINY

FIRST = ["anna", "ben", "carla", "dmitri", "eva", "farid", "greta", "hugo", "ines", "jon"]
LAST = ["smith", "meyer", "rossi", "novak", "silva", "kim", "berg", "lund", "costa"]


def people(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Made-up people: a category, a number, a name, a unique email, an id and a note."""
    rng = np.random.default_rng(seed)
    first, last = rng.choice(FIRST, n), rng.choice(LAST, n)
    return pd.DataFrame(
        {
            "plan": rng.choice(["basic", "pro"], n),
            "age": rng.integers(18, 80, n),
            "name": [f"{a.title()} {b.title()}" for a, b in zip(first, last, strict=True)],
            "email": [f"{a}{i}@mail.org" for i, a in enumerate(first)],
            "account": [f"AC-{1000 + 7 * i}" for i in range(n)],
            "note": [
                f"customer {a} asked about the {p} plan on day {d} and left happy"
                for a, p, d in zip(
                    first, rng.choice(["basic", "pro"], n), rng.integers(1, 28, n), strict=True
                )
            ],
        }
    )


def test_kinds_are_decided_from_the_data_and_can_be_overridden() -> None:
    frame = people()
    info = {c.name: c for c in describe_frame(frame).columns}
    kinds = {name: decide_kind(frame[name], info[name]) for name in frame.columns}
    assert kinds == {
        "plan": "categorical",
        "age": "numeric",
        "name": "categorical",  # 90 combinations over 300 rows: values repeat
        "email": "string",
        "account": "identifier",
        "note": "text",
    }
    codec = TableCodec.fit(
        frame, list(info.values()), [], kinds={"name": "string", "email": "categorical"}
    )
    assert isinstance(codec.field("name"), StringField)
    assert isinstance(codec.field("email"), CategoricalField)
    assert codec.kinds["name"] == "string" and codec.kinds["age"] == "numeric"


def small_customers(n: int = 15) -> pd.DataFrame:
    """A short table: unique faxes (a few missing) and company names, a repeating country."""
    fax = [f"+1 (403) {262 + i}-{3443 + 17 * i}" for i in range(n)]
    fax[2] = fax[9] = None
    return pd.DataFrame(
        {
            "country": (["Canada", "Brazil", "USA"] * n)[:n],
            "company": [f"{FIRST[i % 10].title()} & {LAST[i % 9].title()} Ltd." for i in range(n)],
            "fax": fax,
        }
    )


def test_few_but_unique_values_are_spelled_while_repeating_ones_stay_categories(
    tmp_path: Path,
) -> None:
    frame = small_customers()
    info = {c.name: c for c in describe_frame(frame).columns}
    kinds = {name: decide_kind(frame[name], info[name]) for name in frame.columns}
    assert kinds == {"country": "categorical", "company": "string", "fax": "string"}
    # below the minimum (4 values), or values repeating (10 distinct of 15): categories
    few = pd.Series(["a1", "b2", "c3", "d4"])
    repeating = pd.Series([f"v{i % 10}" for i in range(15)])
    for series in (few, repeating):
        column = describe_frame(series.to_frame("x")).columns[0]
        assert decide_kind(series, column) == "categorical"

    # a generated parent's missing value as context of a column never missing in training
    full = StringField.fit("company", frame["company"], "string")
    empty = [[full.end_token] * full.max_length]
    assert full.encode(pd.Series([None]), seeds=True).tolist() == empty
    with pytest.raises(DataError, match="missing values were never seen"):
        full.encode(pd.Series([None]))

    synth = TableSynthesizer(**{**TINY, "epochs": 3}).fit(frame, tmp_path / "m")
    out = synth.generate(60, seed=0)
    # too few rows for the protection threshold: rare countries come out as the token
    assert set(out["country"].dropna()) <= {"Canada", "Brazil", "USA", RARE}
    for name in ("fax", "company"):
        assert not out[name].dropna().isin(set(frame[name].dropna())).any(), name


def test_spelled_values_round_trip_and_are_cut_at_max_length() -> None:
    column = pd.Series(["ab@c.de", None, "", "zzzzzzzzzz"], dtype=object)
    field = StringField.fit("x", column, "string", max_length=6)
    assert field.shapes is not None  # three values: drawn in their shapes when generated
    field.shapes = None  # the spelling itself
    tokens = field.encode(column)
    assert tokens.shape == (4, 6)
    back = field.decode(tokens, np.random.default_rng(0)).tolist()
    assert back == ["ab@c.d", None, "", "zzzzzz"]
    public = StringField.public("x", "string")
    assert public.chars == PUBLIC_CHARS and public.decode(
        public.encode(pd.Series(["é1"])), np.random.default_rng(0)
    ).tolist() == ["?1"]


def test_generated_emails_are_new_and_the_model_reloads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = people()[["plan", "age", "email", "account"]]
    synth = TableSynthesizer(**{**TINY, "epochs": 8, "rnn_units": 64}, validation_split=0.1)
    with caplog.at_level(logging.INFO, logger="synthloom"):
        synth.fit(frame, tmp_path / "m")
    assert "email=string" in caplog.text and "account=identifier" in caplog.text
    summary = read_json(tmp_path / "m" / "training_summary.json")
    assert summary["column_kinds"]["email"] == "string"
    assert read_json(tmp_path / "m" / "model_params.json")["column_kinds"]["account"] == (
        "identifier"
    )
    guard = read_json(tmp_path / "m" / "copy_guard.json")
    assert "anna0@mail.org" not in str(guard)  # digests only, never the values

    out = TableSynthesizer.load(tmp_path / "m").generate(200, seed=1)
    assert len(out) == 200
    emails = out["email"].dropna()
    assert not emails.isin(set(frame["email"])).any()
    assert not out["account"].dropna().isin(set(frame["account"])).any()
    assert not out["account"].dropna().duplicated().any()
    # the learned format: one "@", the training domain (a tiny model, a loose bound)
    shaped = emails.str.fullmatch(r"[a-z]+[0-9]*@mail\.org")
    assert shaped.mean() >= 0.5, emails.head(10).tolist()


def test_fallback_rows_never_copy_spelled_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthloom.synthesizers.table_sampling import GenerationRun as _Run

    frame = people(200)[["plan", "age", "email"]]
    synth = TableSynthesizer(**{**TINY, "epochs": 1}).fit(frame, tmp_path / "m")

    def invalid(self: _Run, n: int, seeds: pd.DataFrame | None, free: object) -> pd.DataFrame:
        return frame.sample(n, replace=True).assign(plan="nope").reset_index(drop=True)

    monkeypatch.setattr(_Run, "_draw", invalid)
    out = synth.generate(30, max_invalid=5, seed=0)
    assert synth.generation_stats_["fallback_records"] == 30
    assert out["email"].isna().all()  # the fallback never learned the emails
    assert set(out["plan"]) <= {"basic", "pro"}


def test_amplify_leaves_near_unique_columns_empty_instead_of_copying(tmp_path: Path) -> None:
    frame = people(200)[["plan", "age", "email"]]
    synth = TableSynthesizer(engine="amplify", seed=0).fit(frame, tmp_path / "m")
    out = synth.generate(50, seed=0)
    assert out["email"].isna().all() and not set(out["email"]) & set(frame["email"])
    assert set(out["plan"]) <= {"basic", "pro"} and out["age"].notna().all()


def test_seeded_rows_keep_their_seeds_and_get_new_emails(tmp_path: Path) -> None:
    frame = people(300)[["plan", "age", "email"]]
    task = {"type": "seed", "attrs": {"fields": ["plan"]}}
    synth = TableSynthesizer(**{**TINY, "epochs": 3}, task=task).fit(frame, tmp_path / "m")
    seeds = pd.DataFrame({"plan": ["pro"] * 20 + ["basic"] * 20})
    out = synth.generate(seeds=seeds, seed=0)
    assert out["plan"].tolist() == seeds["plan"].tolist()
    assert not out["email"].dropna().isin(set(frame["email"])).any()


def test_copy_guard_sees_training_values_only() -> None:
    guard = CopyGuard.learn(pd.DataFrame({"e": ["a@b.c", "d@e.f", None]}), ["e"])
    hits = guard.copies(pd.DataFrame({"e": ["a@b.c", "x@y.z", None]}))["e"]
    assert hits.tolist() == [True, False, False]
    again = CopyGuard.from_dict(guard.to_dict())
    assert again.copies(pd.DataFrame({"e": ["d@e.f"]}))["e"].tolist() == [True]


def test_column_treatments(tmp_path: Path) -> None:
    frame = people(120)[["plan", "age", "name", "email"]]
    # hashes of unique names are rare categories: value protection would make them _RARE_
    columns = {"email": "exclude", "name": {"treatment": "hash", "value_protection": False}}
    synth = TableSynthesizer(**{**TINY, "epochs": 1}, columns=columns).fit(frame, tmp_path / "m")
    out = synth.generate(30)
    assert list(out.columns) == ["plan", "age", "name"]
    assert out["name"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert not out["name"].isin(set(frame["name"])).any()
    with pytest.raises(ConfigError, match="not in the data"):
        TableSynthesizer(**TINY, columns={"mail": "string"}).fit(frame, tmp_path / "n")
    with pytest.raises(ConfigError, match="treatment 'keep'"):
        TableSynthesizer(columns={"name": {"kind": "string", "treatment": "keep"}})
    with pytest.raises(ConfigError, match="not a column kind"):
        TableSynthesizer(columns={"name": "spell"})


def test_dp_spells_with_public_characters_inside_the_accountant(tmp_path: Path) -> None:
    frame = people(400)[["plan", "age", "email", "name"]]
    TableSynthesizer(
        **{**TINY, "epochs": 1, "batch_size": 100},
        dp=True,
        dp_epsilon=6.0,
        columns={"name": {"kind": "string", "max_length": 14}},
    ).fit(frame, tmp_path / "m")
    params = read_json(tmp_path / "m" / "model_params.json")
    fields = {f["name"]: f for f in params["parts"][0]["codec"]["fields"]}
    # emails: spelled because their DP histogram releases almost nothing; both public
    assert fields["email"]["chars"] == PUBLIC_CHARS and fields["name"]["max_length"] == 14
    assert params["column_kinds"]["email"] == "string"
    summary = read_json(tmp_path / "m" / "training_summary.json")
    assert summary["epsilon"] <= 6.0 * 1.001
    assert not (tmp_path / "m" / "copy_guard.json").exists()
    out = TableSynthesizer.load(tmp_path / "m").generate(40, seed=3)
    assert len(out) == 40
    assert out["name"].dropna().str.len().max() <= 14
    assert set("".join(out["email"].dropna())) <= set(PUBLIC_CHARS)


def test_relational_customers_get_new_emails(tmp_path: Path) -> None:
    from synthloom.relational import RelationalSynthesizer

    source = tmp_path / "db"
    source.mkdir()
    customers = people(200)[["plan", "age", "email"]]
    customers.insert(0, "id", range(1, 201))
    rng = np.random.default_rng(1)
    orders = pd.DataFrame(
        {
            "id": range(1, 401),
            "customer": rng.integers(1, 201, 400),
            "total": rng.integers(1, 90, 400),
        }
    )
    customers.to_csv(source / "customer.csv", index=False)
    orders.to_csv(source / "orders.csv", index=False)
    (source / "schema.yaml").write_text(
        "tables:\n  customer: {primary_key: [id]}\n  orders:\n    primary_key: [id]\n"
        "    foreign_keys: [{columns: [customer], references: {table: customer}}]\n"
    )
    config = {"params": {**TINY, "epochs": 3}}
    synth = RelationalSynthesizer(config).fit(source, tmp_path / "m")
    tables = synth.generate(50, seed=0)
    emails = tables["customer"]["email"].dropna()
    assert len(emails) > 0 and not emails.isin(set(customers["email"])).any()
    assert tables["orders"]["customer"].isin(tables["customer"]["id"]).all()


def test_data_checks_name_personal_data_columns() -> None:
    from synthloom.validation.data_checks import detect_pii, run_data_checks

    frame = people(200)
    rng = np.random.default_rng(2)
    frame["phone"] = [
        f"+1 ({rng.integers(200, 999)}) {rng.integers(100, 999)}-{i:04d}" for i in range(200)
    ]
    frame["site"] = [f"https://shop.example.com/u/{i}" for i in range(200)]
    frame["ip"] = [f"10.0.{i // 250}.{i % 250}" for i in range(200)]
    frame["city"] = rng.choice(["Paris", "Rome", "Oslo"], 200)
    found = detect_pii(frame)
    assert found == {
        "name": "person_name",
        "email": "email",
        "account": "identifier",
        "phone": "phone",
        "site": "url",
        "ip": "ip_address",
    }
    pii = [w for w in run_data_checks(frame) if w.check == "pii"]
    assert [w.column for w in pii] == list(found)
    assert "email addresses" in str(pii[1]) and "treatment" in str(pii[1])


def test_report_compares_verbatim_values_with_the_holdout(tmp_path: Path) -> None:
    from synthloom.report import build_report
    from synthloom.report.values import value_copies

    frame = people(400)
    real = frame.iloc[:300].reset_index(drop=True)
    holdout = frame.iloc[300:].reset_index(drop=True)
    # real emails beside made-up attributes: no whole row is a copy
    copied = real.sample(100, random_state=0).reset_index(drop=True)
    copied["age"] = 100 + np.arange(100)
    fresh = copied.assign(email=[f"x{i}@mail.org" for i in range(100)])
    columns = list(frame.columns)
    by_column = {c.column: c for c in value_copies(real, copied, holdout, columns)}
    assert by_column["email"].synthetic_share == 1.0 and by_column["email"].holdout_share == 0.0
    assert by_column["plan"].holdout_share == 1.0 and by_column["plan"].excess == 0.0
    note = by_column["note"].text
    assert note is not None and note.ngram_copy_share == 1.0 and note.length_accuracy > 0.85
    itself = value_copies(real, real, None, ["note"])[0].text
    assert itself is not None and itself.length_accuracy == 1.0
    assert itself.ngram_copy_share_holdout is None

    result = build_report(real, copied, tmp_path / "a", holdout=holdout)
    assert result.scores["privacy"]["exact_copy_share"] == 0.0
    verdict = result.scores["privacy"]["verdict"]
    assert verdict["level"] == "warning"
    assert any("Column 'email'" in r for r in verdict["reasons"])
    assert (tmp_path / "a" / "report.html").read_text().count("Verbatim training values") == 1
    fresh_copies = value_copies(real, fresh, holdout, ["email"])
    assert fresh_copies[0].synthetic_share == 0.0


def test_tied_positions_share_one_head_and_old_shapes_still_load() -> None:
    from synthloom.lstm.table_model import TableLSTM, TableShape

    old = {
        "vocab_sizes": [3, 5],
        "embedding_dim": 4,
        "rnn_units": 8,
        "rnn_layers": 1,
        "dropout_rate": 0.0,
    }  # written before spelled columns: no "tied"
    network = TableLSTM(TableShape.from_dict(old))
    assert len(network.heads) == 2 and network.position is None
    tied = TableLSTM(
        TableShape.from_dict({**old, "vocab_sizes": [3, 6, 6, 6], "tied": [0, 1, 1, 1]})
    )
    assert len(tied.heads) == 2 and tied.head(3) is tied.head(1)
    assert tied.embedding.num_embeddings == 1 + 3 + 6 and tied.position is not None


def test_a_column_loss_weight_scales_its_cross_entropy_and_is_kept() -> None:
    import torch

    from synthloom.lstm.table_model import TableLSTM, TableShape

    base = TableShape((3, 6, 6, 6), 4, 8, 1, 0.0, (0, 1, 1, 1))
    weighted = TableShape.from_dict({**base.to_dict(), "loss_weights": [1, 3, 3, 3]})
    assert TableShape.from_dict(weighted.to_dict()) == weighted
    torch.manual_seed(0)
    plain, heavy = TableLSTM(base), TableLSTM(weighted)
    heavy.load_state_dict(plain.state_dict())
    inputs = torch.tensor([[0, 2, 5, 1], [0, 1, 0, 3]])
    targets = torch.tensor([[2, 5, 1, 4], [1, 0, 3, 3]])
    hidden, _ = plain.hidden(inputs, None, 0)
    ce = [
        torch.nn.functional.cross_entropy(
            plain.head(t)(hidden[:, t]), targets[:, t], reduction="sum"
        )
        for t in range(4)
    ]
    got = heavy.loss_terms(inputs, targets, None, 0).loss
    assert torch.allclose(got, ce[0] + 3 * (ce[1] + ce[2] + ce[3]))
    assert torch.allclose(plain.loss_terms(inputs, targets, None, 0).loss, sum(ce))


def test_a_column_samples_at_its_own_temperature(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "plan": rng.choice(["basic", "pro"], 300, p=[0.8, 0.2]),
            "tier": rng.choice(["gold", "tin"], 300, p=[0.8, 0.2]),
        }
    )
    columns = {"plan": {"gen_temp": 0.05}}
    synth = TableSynthesizer(**{**TINY, "epochs": 4}, columns=columns).fit(frame, tmp_path / "m")
    out = TableSynthesizer.load(tmp_path / "m").generate(400, seed=0)
    assert (out["plan"] == "basic").mean() > 0.99  # near-greedy
    assert 0.08 < (out["tier"] == "tin").mean() < 0.4  # as trained
    hot = synth.generate(400, seed=0, gen_temp=3.0)  # the call's temperature: other columns
    assert (hot["plan"] == "basic").mean() > 0.99 and (hot["tier"] == "tin").mean() > 0.3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": {"note": {"loss_weight": 0}}}, "columns.note.loss_weight"),
        ({"columns": {"note": {"gen_temp": -1}}}, "columns.note.gen_temp"),
        ({"columns": {"note": {"treatment": "exclude", "gen_temp": 0.8}}}, "drop gen_temp"),
        (
            {"columns": {"note": {"loss_weight": 2}}, "time_series": {"order_by": ["day"]}},
            "not to time_series",
        ),
    ],
)
def test_bad_column_settings_are_one_line_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        TableSynthesizer(**options)
    assert "\n" not in str(caught.value)


def test_a_small_customers_table_gets_valid_new_emails_and_phones(tmp_path: Path) -> None:
    """40 customers are too few to learn spelling from (the model either never learns
    an email's form or learns the emails by heart): values come in the training values'
    shapes, so every email parses and every phone keeps a training layout, and none is
    a training value."""
    import re

    rng = np.random.default_rng(5)
    n = 40
    first, last = rng.choice(FIRST, n), rng.choice(LAST, n)
    domains = rng.choice(["gmail.com", "yahoo.com", "apple.com", "uol.com.br"], n)
    frame = pd.DataFrame(
        {
            "country": rng.choice(["Brazil", "Canada", "France"], n),
            "email": [
                f"{a}.{b}{i}@{d}"
                for i, (a, b, d) in enumerate(zip(first, last, domains, strict=True))
            ],
            "phone": [
                f"+{rng.integers(1, 99)} ({rng.integers(10, 99)}) {i:04d}-{i * 37 % 10000:04d}"
                for i in range(n)
            ],
        }
    )
    frame["fax"] = [p if i % 5 == 0 else None for i, p in enumerate(frame["phone"])]
    TableSynthesizer(**{**TINY, "epochs": 3}).fit(frame, tmp_path / "m")
    out = TableSynthesizer.load(tmp_path / "m").generate(200, seed=0)
    email = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}")
    assert out["email"].map(lambda v: bool(email.fullmatch(v))).mean() >= 0.99
    layouts = {re.sub(r"\d", "9", p) for p in frame["phone"]}
    assert out["phone"].map(lambda v: re.sub(r"\d", "9", v) in layouts).mean() >= 0.99
    assert not set(out["email"]) & set(frame["email"])
    assert not set(out["phone"]) & set(frame["phone"])
    # 8 faxes: a set of training values would reject every new one (no in_set rule)
    assert out["fax"].notna().mean() > 0.05
    assert not set(out["fax"].dropna()) & set(frame["fax"].dropna())


def test_spelled_columns_get_no_set_of_training_values_to_stay_in() -> None:
    from synthloom.validation.field_validators import FieldValidators

    frame = pd.DataFrame({"plan": ["a", "b"] * 3, "fax": [f"+1 555-01{i}" for i in range(6)]})
    rules = {r.name: r for r in FieldValidators.learn(frame, spelled=["fax"]).rules}
    assert rules["fax"].in_set is None and rules["fax"].patterns  # still its layouts
    assert rules["plan"].in_set == ["a", "b"]


def _two_length_notes(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A category and a note whose length it decides: 20-32 or 64-88 characters."""
    rng = np.random.default_rng(seed)
    words = ["sun", "rain", "wind", "cold", "warm", "dry", "wet", "fog", "hail", "snow"]
    kinds = rng.choice(["short", "long"], n)
    notes = []
    for kind in kinds:
        size = rng.integers(20, 33) if kind == "short" else rng.integers(64, 89)
        text = ""
        while len(text) < size:
            text += str(rng.choice(words)) + " "
        notes.append(text[:size].strip() or "sun")
    return pd.DataFrame({"kind": kinds, "note": notes})


def test_text_lengths_are_calibrated_after_training(tmp_path: Path) -> None:
    """An underfit model's per-character end decisions compound into lengths unlike the
    data's; the calibrated <end> shifts bring the generated lengths back."""
    from synthloom.report.values import value_copies

    frame = _two_length_notes()
    columns = {"note": {"kind": "text"}}
    options = {**TINY, "epochs": 3, "validation_split": False, "columns": columns}
    synth = TableSynthesizer(**options).fit(frame, tmp_path / "m")
    field = synth._parts[0].codec.field("note")
    assert isinstance(field, StringField) and field.end_bias
    loaded = TableSynthesizer.load(tmp_path / "m")
    assert loaded._parts[0].codec.field("note").end_bias == field.end_bias

    def length_accuracy(model: TableSynthesizer) -> float:
        out = model.generate(num_records=1000, seed=1)
        return value_copies(frame, out, None, ["note"])[0].text.length_accuracy

    calibrated = length_accuracy(loaded)
    loaded._parts[0].codec.field("note").end_bias = None
    plain = length_accuracy(loaded)
    assert calibrated >= 0.8 and calibrated > plain + 0.05, (calibrated, plain)


def test_a_model_with_a_long_text_column_reloads(tmp_path: Path) -> None:
    """A spelled column's positions share one embedding and head: the load-time check of
    the weights' size counts that block once (counted per position, a 200-character note
    looked like a network far bigger than its weights, and the model dir "damaged")."""
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz ,.ABCDEFGHIJ"))
    notes = ["".join(rng.choice(letters, 200)) for _ in range(60)]
    frame = pd.DataFrame({"kind": rng.choice(["a", "b"], 60), "note": notes})
    options = {**TINY, "epochs": 1, "embedding_dim": 64, "rnn_units": 64}
    TableSynthesizer(**options, columns={"note": {"kind": "text"}}).fit(frame, tmp_path / "m")
    out = TableSynthesizer.load(tmp_path / "m").generate(5, seed=0)
    assert len(out) == 5 and set(out.columns) == {"kind", "note"}
