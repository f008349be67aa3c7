"""Line-delimited text: one record per line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from synthloom.errors import DataError
from synthloom.io.schema import UNSUPPORTED_SUFFIXES

# A control byte other than tab/CR/LF/FF in the first block means a binary file.
_BINARY_PROBE_BYTES = 8192
_TEXT_CONTROLS = {9, 10, 12, 13}


def read_text_records(path: str | Path) -> list[str]:
    """Read a UTF-8 text file as records, one per line.

    Line ends (``\\n`` or ``\\r\\n``) are removed; everything else in a line, leading and
    trailing spaces included, is kept. Blank lines are dropped: a record is never empty.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist; check the path given with --data")
    if path.is_dir():
        raise DataError(f"data path {path} is a folder; give a text file with one record per line")
    raw = path.read_bytes()
    check_not_utf16(raw, path)
    if b"\x00" in raw[:_BINARY_PROBE_BYTES] or _looks_binary(raw[:_BINARY_PROBE_BYTES]):
        raise DataError(
            f"data file {path} looks binary, not text; give a UTF-8 text file, one record per line"
        )
    records = clean_records(decode_utf8(raw, path).split("\n"))
    if not records:
        raise DataError(f"data file {path} has no records; give at least one non-empty line")
    return records


def check_not_utf16(raw: bytes, path: Path) -> None:
    """Name UTF-16/32 text as such (by its byte-order mark or its zero bytes)."""
    head = raw[:_BINARY_PROBE_BYTES]
    boms = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32"}
    boms |= {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}
    encoding = next((name for bom, name in boms.items() if head.startswith(bom)), None)
    # ASCII in UTF-16 without a mark: every other byte is zero.
    if encoding is None and len(head) >= 8 and head[1::2].count(0) > 0.9 * len(head[1::2]):
        encoding = "UTF-16"
    if encoding is not None:
        raise DataError(
            f"data file {path} is {encoding} text, not UTF-8; convert it, e.g. "
            f"`iconv -f {encoding} -t UTF-8 {path.name} > {path.stem}-utf8{path.suffix}`"
        )


def decode_utf8(raw: bytes, path: Path) -> str:
    """The text of a UTF-8 file (a byte-order mark is dropped), or a DataError naming the line."""
    check_not_utf16(raw, path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_no = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"data file {path} is not valid UTF-8 text (bad byte at line {line_no}); "
            "convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from None


def clean_records(lines: Iterable[str]) -> list[str]:
    """Strip line ends and drop blank lines; raise on records holding a line break."""
    records = []
    for number, line in enumerate(lines, start=1):
        record = line.removesuffix("\r")
        if "\n" in record or "\r" in record:
            raise DataError(
                f"line {number} holds a line break (a carriage return, \\r, inside the "
                "line): records are single lines of text; if the file uses old Mac (CR-only) "
                "line ends, convert them: `tr '\\r' '\\n' < in.txt > out.txt`"
            )
        if record.strip():
            records.append(record)
    return records


def check_text_output(path: str | Path) -> None:
    """Refuse an output name whose extension promises a format other than text lines."""
    suffix = Path(path).suffix.lower()
    if suffix in UNSUPPORTED_SUFFIXES or suffix in (".parquet", ".pq", ".json"):
        raise DataError(
            f"--output {path}: a text model writes plain text, one record per line, not "
            f"{suffix}; name the output .txt"
        )


def write_text_records(path: str | Path, records: Iterable[str]) -> int:
    """Write records one per line (atomically: a failed write leaves any old file intact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as handle:
            for record in records:
                handle.write(record + "\n")
                count += 1
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return count


def _looks_binary(block: bytes) -> bool:
    controls = sum(1 for b in block if b < 32 and b not in _TEXT_CONTROLS)
    return bool(block) and controls / len(block) > 0.1
