"""Spelled columns with few values: new values in the training values' shapes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthloom.encoding.fields import StringField, TableCodec
from synthloom.encoding.shapes import SHAPE_MAX_VALUES, ShapeSampler

EMAILS = [
    "luisg@embraer.com.br",
    "leonekohler@surfeu.de",
    "ftremblay@gmail.com",
    "bjorn.hansen@yahoo.no",
    "hholy@gmail.com",
    "astrid.gruber@apple.at",
    "daan_peeters@apple.be",
    "kara.nielsen@jubii.dk",
    "eduardo@woodstock.com.br",
    "alero@uol.com.br",
    "roberto.almeida@riotur.gov.br",
    "jenniferp@rogers.ca",
    "fharris@google.com",
    "jacksmith@microsoft.com",
    "tgoyer@apple.com",
    "dmiller@comcast.com",
    "kachase@hotmail.com",
    "johavanderberg@yahoo.nl",
    "wyatt.girard@yahoo.fr",
    "isabelle_mercier@apple.fr",
]
PHONES = [f"+55 (12) 39{i:02d}-{5555 + 37 * i}" for i in range(20)] + [
    f"+1 (604) 6{i:02d}-{1000 + 91 * i}" for i in range(20)
]
EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}")


def _layout(value: str) -> str:
    return re.sub(r"\d", "9", value)


def test_emails_keep_their_form_and_shared_parts_but_are_new():
    sampler = ShapeSampler.fit(EMAILS)
    made = sampler.sample(500, np.random.default_rng(0))
    assert all(EMAIL.fullmatch(v) for v in made)
    assert not set(made) & set(EMAILS)
    domains = pd.Series([v.split("@")[1] for v in made])
    assert domains.str.endswith(".com").mean() > 0.3  # "com" is shared by many: kept
    assert domains.str.startswith("yahoo.").mean() > 0.02  # so is "yahoo" (3 values)
    assert domains.nunique() > 30  # rare domains (a person's employer) are made up


def test_phones_keep_a_training_layout_with_new_digits():
    made = ShapeSampler.fit(PHONES).sample(300, np.random.default_rng(1))
    layouts = {_layout(p) for p in PHONES}
    assert all(_layout(v) in layouts for v in made)
    assert len(set(made) & set(PHONES)) < 3


def test_names_keep_their_case_and_letters():
    names = ["Luís Gonçalves", "Leonie Köhler", "François Tremblay", "Bjørn Hansen", "Ana Li"]
    sampler = ShapeSampler.fit(names * 1)
    made = sampler.sample(200, np.random.default_rng(2))
    letters = set("".join(names).lower())
    for value in made:
        first, last = value.split(" ")
        assert first[0].isupper() and last[0].isupper()
        assert set(value.lower()) - {" "} <= letters
    assert ShapeSampler.from_dict(sampler.to_dict()) == sampler


def test_string_fields_use_shapes_below_the_threshold_and_round_trip():
    few = StringField.fit("email", pd.Series([*EMAILS, None]), "string")
    assert few.shapes is not None and few.has_na
    codec = TableCodec([few], [])
    again = TableCodec.from_dict(codec.to_dict())
    tokens = few.encode(pd.Series(["x@y.com", None, "a@b.org"]))
    decoded = again.fields[0].decode(tokens, np.random.default_rng(0))
    assert decoded[1] is None  # the model's missing decision stands
    assert EMAIL.fullmatch(decoded[0]) and EMAIL.fullmatch(decoded[2])
    many = [f"user{i}@mail{i % 7}.org" for i in range(SHAPE_MAX_VALUES)]
    assert StringField.fit("email", pd.Series(many), "string").shapes is None
    assert StringField.fit("note", pd.Series(EMAILS), "text").shapes is None
