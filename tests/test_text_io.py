"""Reading text records: every kind of bad file gets a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom import DataError
from synthloom.io.text import read_text_records, write_text_records


def test_reads_lines_keeping_spaces_and_dropping_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_bytes("  lead\r\ntrail  \n\n\ttab\t\n漢字 😀\n".encode())
    assert read_text_records(path) == ["  lead", "trail  ", "\ttab\t", "漢字 😀"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "no records"),
        (b"\n  \n\n", "no records"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("caf\u00e9\n".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "d.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected):
        read_text_records(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_text_records(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="folder"):
        read_text_records(tmp_path)


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_text_records(path, ["old"])

    def broken():
        yield "new"
        raise RuntimeError("generation failed")

    with pytest.raises(RuntimeError):
        write_text_records(path, broken())
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
