"""Source locations and error types: every error names a file and a line."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one source file, at a line counted in the original file."""

    path: str
    line: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class SourceError(Exception):
    """A problem in one source file; carries where it is."""

    def __init__(self, path: str | Path, line: int, message: str):
        super().__init__(message)
        self.problem = Problem(str(path), line, message)

    def __str__(self) -> str:
        return str(self.problem)


class BuildFailed(Exception):
    """The build found errors; nothing in the output was changed."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} error(s)")
        self.problems = problems


class ConfigError(Exception):
    """The site configuration is unusable; the message names file and key."""
