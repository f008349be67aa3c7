"""Errors that synthloom raises for bad input: each names the problem and the fix."""

from __future__ import annotations


class SynthloomError(ValueError):
    """A problem with the user's input, config or model directory.

    The message says what is wrong and what to do; the CLI prints it on one line.
    """


class ConfigError(SynthloomError):
    """The configuration is invalid or asks for something not supported."""


class ConfigProblems(ConfigError):
    """Several independent problems of one config, each with its fix (one line in all)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))

    def __reduce__(self) -> tuple[type, tuple[list[str]]]:
        return (type(self), (self.problems,))


class DataError(SynthloomError):
    """The training data cannot be used as given."""


class ModelDirError(SynthloomError):
    """A model directory is missing, incomplete, or would be overwritten."""


class TooManyInvalidError(SynthloomError):
    """Generation produced more invalid records than ``max_invalid`` allows."""

    def __init__(self, valid: int, invalid: int, max_invalid: int, wanted: int) -> None:
        self.valid = valid
        self.invalid = invalid
        self.max_invalid = max_invalid
        self.wanted = wanted
        super().__init__(
            f"generation stopped: {invalid} invalid records exceeded max_invalid={max_invalid} "
            f"after {valid} of {wanted} valid records; raise max_invalid, lower gen_temp, "
            "train longer, or relax the validator"
        )

    def __reduce__(self) -> tuple[type, tuple[int, int, int, int]]:
        # rebuilt from its counts when it crosses from a worker process
        return (type(self), (self.valid, self.invalid, self.max_invalid, self.wanted))


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C ended training before the new model was complete: nothing was replaced.

    The message says what was kept; the CLI exits 130.
    """
