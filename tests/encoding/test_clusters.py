"""Column clusters: association, greedy clusters of related columns, anchors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthloom.encoding.clusters import (
    ANCHORS_PER_CLUSTER,
    cramers_v_matrix,
    plan_clusters,
    schema_order_clusters,
)


def _related_frame(n: int = 2000) -> pd.DataFrame:
    """Two groups of related columns (a*, b*) and one column of noise."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, n)
    b = rng.normal(size=n)
    return pd.DataFrame(
        {
            "a1": a,
            "b1": b,
            "a2": np.array(list("vwxyz"))[a],  # the same as a1, as text
            "noise": rng.integers(0, 4, n),
            "b2": b * 3 + rng.normal(scale=0.1, size=n),
            "a3": (a + (rng.random(n) < 0.1)) % 5,
            "b3": -b,
        }
    )


def test_association_is_symmetric_one_for_copies_and_low_for_noise() -> None:
    frame = _related_frame()
    matrix = cramers_v_matrix(frame)
    assert list(matrix.index) == list(matrix.columns) == list(frame.columns)
    np.testing.assert_allclose(matrix.to_numpy(), matrix.to_numpy().T)
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    assert matrix.loc["a1", "a2"] == pytest.approx(1.0)  # numbers and text alike
    assert matrix.loc["b1", "b3"] > 0.9  # binned numbers
    assert matrix.loc["a1", "a3"] > 0.8
    assert matrix.loc["noise"].drop("noise").max() < 0.1
    assert matrix.loc["a1", "b1"] < 0.1
    assert ((matrix >= 0) & (matrix <= 1 + 1e-9)).all().all()


def test_association_handles_missing_values_and_constant_columns() -> None:
    frame = pd.DataFrame(
        {"x": [1.0, None, 3.0, None] * 50, "y": ["a", None, "c", None] * 50, "k": ["same"] * 200}
    )
    matrix = cramers_v_matrix(frame)
    assert matrix.loc["x", "y"] == pytest.approx(1.0)  # missing is a level of its own
    assert matrix.loc["k", "x"] == 0.0  # a constant column is associated with nothing


def test_clusters_group_related_columns_within_size() -> None:
    frame = _related_frame()
    clusters = plan_clusters(cramers_v_matrix(frame), cluster_size=3)
    placed = [c for cluster in clusters for c in cluster.columns]
    assert sorted(placed) == sorted(frame.columns)  # every column exactly once
    assert all(len(c.columns) + len(c.anchors) <= 3 for c in clusters)
    # the first cluster is the most associated group, with nothing to condition on
    assert set(clusters[0].columns) == {"a1", "a2", "a3"} and clusters[0].anchors == []
    # anchors are earlier columns, at most ANCHORS_PER_CLUSTER (and cluster_size − 1)
    seen: list[str] = []
    for cluster in clusters:
        assert set(cluster.anchors) <= set(seen)
        assert len(cluster.anchors) <= min(ANCHORS_PER_CLUSTER, 2)
        seen += cluster.columns
    # the last column placed is anchored on its close relatives, not on unrelated ones
    last = clusters[-1]
    assert last.columns[0].startswith("b") and set(last.anchors) <= {"b1", "b2", "b3"}


def test_first_columns_lead_and_small_tables_need_one_cluster() -> None:
    association = cramers_v_matrix(_related_frame())
    clusters = plan_clusters(association, cluster_size=3, first=["noise"])
    assert clusters[0].columns[0] == "noise"
    whole = plan_clusters(association, cluster_size=7)
    assert len(whole) == 1 and whole[0].anchors == []
    assert whole[0].to_dict() == {"columns": list(association.columns), "anchors": []}


def test_schema_order_clusters_cut_the_column_order() -> None:
    names = [f"c{i}" for i in range(10)]
    clusters = schema_order_clusters(names, cluster_size=5, first=["c7"])
    assert clusters[0].columns == ["c7", "c0", "c1", "c2", "c3"]
    assert clusters[1].anchors == ["c1", "c2", "c3"]  # the last columns before it
    assert clusters[1].columns == ["c4", "c5"]
    placed = [c for cluster in clusters for c in cluster.columns]
    assert sorted(placed) == sorted(names) and len(placed) == len(names)
    assert all(len(c.columns) + len(c.anchors) <= 5 for c in clusters)
