"""Generated records and the user's line validator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LineValidator = Callable[[str], object]


@dataclass(frozen=True)
class GeneratedRecord:
    """One generated record: its text, whether it passed validation, and why not."""

    text: str
    valid: bool
    explanation: str | None = None


def check_line(text: str, validator: LineValidator | None) -> GeneratedRecord:
    """Run ``validator`` on ``text``.

    A validator passes a record by returning a truthy value (or None); it rejects one by
    returning False or by raising, whose message becomes the explanation.
    """
    if validator is None:
        return GeneratedRecord(text, True)
    try:
        verdict = validator(text)
    except Exception as exc:  # a user's validator says "invalid" by raising anything
        return GeneratedRecord(text, False, f"{type(exc).__name__}: {exc}")
    if verdict is None or verdict:
        return GeneratedRecord(text, True)
    return GeneratedRecord(text, False, "line_validator returned False")
