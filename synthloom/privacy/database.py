"""One DP budget for a whole database: a person is a root row with all its child rows.

Each synthesized table is learned by its own DP run (the root as rows, each child of the
root as one sequence per root row), and every run is (ε_t, δ_t)-DP for adding or removing
one person. One person can be in every run, so the database is (Σε_t, Σδ_t)-DP by basic
sequential composition. :class:`DatabaseBudget` releases the number of people once (to
fix δ without looking at the exact count), splits what is left evenly between the runs,
and adds up what the runs report they spent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from synthloom.privacy.accounting import (
    PUBLIC_ALWAYS,
    Release,
    check_epsilon,
    resolve_delta,
)
from synthloom.privacy.domain import private_count
from synthloom.privacy.entropy import secure_rng
from synthloom.privacy.training import COUNT_SHARE

NEIGHBOURING_PERSON = (
    "add or remove one person: one root row with all its rows in the child tables "
    "(at most max_sequence_rows per child table; longer ones are cut there)"
)


@dataclass
class DatabaseBudget:
    """The database's (ε, δ), the people count released to fix δ, and each run's share."""

    epsilon: float
    delta: float
    people_released: int
    tables: list[str]
    count_release: Release
    public_inputs: list[str] = field(default_factory=list)

    @classmethod
    def open(
        cls, epsilon: float, delta: float | None, people: int, tables: list[str]
    ) -> DatabaseBudget:
        """Release the number of people (Laplace, OS entropy), fix δ from it (or take the
        given δ), and plan an even split between ``tables``."""
        check_epsilon(epsilon)
        count_eps = epsilon * COUNT_SHARE
        released = private_count(people, count_eps, secure_rng())
        total_delta = resolve_delta(delta, released)
        release = Release("the number of root rows (people)", "Laplace, sensitivity 1", count_eps)
        return cls(epsilon, total_delta, released, list(tables), release)

    def share(self) -> tuple[float, float]:
        """The (ε, δ) each table's run is held to."""
        runs = len(self.tables)
        return (self.epsilon - self.count_release.epsilon) / runs, self.delta / runs

    def summary(self, spent: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The database's privacy account from each table run's ``privacy`` summary."""
        epsilon = self.count_release.epsilon + sum(float(p["epsilon"]) for p in spent.values())
        delta = sum(float(p["delta"]) for p in spent.values())
        return {
            "epsilon": epsilon,
            "delta": delta,
            "budget": {"epsilon": self.epsilon, "delta": self.delta},
            "composition": (
                "basic sequential over the tables' DP runs (the ε's and δ's add): one person "
                "can be in every table"
            ),
            "neighbouring": NEIGHBOURING_PERSON,
            "people_released": self.people_released,
            "releases": [asdict(self.count_release)],
            "tables": {
                name: {"epsilon": float(p["epsilon"]), "delta": float(p["delta"])}
                for name, p in spent.items()
            },
            "public_inputs": [*PUBLIC_ALWAYS, *self.public_inputs],
        }
