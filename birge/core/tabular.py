"""Reading CSV and XLSX files for imports, with a per-row validation report.

Every import in Birge goes the same way: read the file (UTF-8, UTF-8 with
BOM, or cp1251 detected; XLSX first sheet), map the headers through the
aliases the importer accepts, validate every row, and write nothing unless
the whole file is valid — or, with ``valid_only``, the valid rows, reporting
the rest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

MAX_BYTES = 200 * 1024 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, format, header)."""


@dataclass
class RowError:
    line: int
    field: str
    message: str


@dataclass
class ImportReport:
    total: int = 0
    written: int = 0
    errors: list[RowError] = field(default_factory=list)
    encoding: str = ""
    committed: bool = False

    @property
    def bad_lines(self) -> set[int]:
        return {e.line for e in self.errors}

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "written": self.written,
            "committed": self.committed,
            "encoding": self.encoding,
            "errors": [{"line": e.line, "field": e.field, "message": e.message} for e in self.errors],
        }


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding found: UTF-8 (with or without BOM), else cp1251 if it reads as Cyrillic."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        raise ImportFileError(_("The file is neither UTF-8 nor Windows-1251 text.")) from None
    letters = [c for c in text if c.isalpha()]
    cyr = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    if letters and cyr / len(letters) < 0.3:
        raise ImportFileError(_("The file is not UTF-8 and does not look like Windows-1251 Cyrillic text; save it as UTF-8."))
    return text, "cp1251"


def read_rows(name: str, data: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]], str]:
    """Header and (line number, cells) of a CSV or XLSX file."""
    if not data:
        raise ImportFileError(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ImportFileError(_("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_BYTES // (1024 * 1024)})
    if name.lower().endswith(".xlsx") or data[:2] == b"PK":
        return _read_xlsx(data)
    text, encoding = decode(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    rows = ((i + 2, row) for i, row in enumerate(reader) if any(c.strip() for c in row))
    return [h.strip() for h in header], rows, encoding


def _read_xlsx(data: bytes):
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a bad file
        raise ImportFileError(_("The file is not a readable XLSX workbook.")) from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = [str(c or "").strip() for c in next(it)]
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None

    def cells():
        for i, row in enumerate(it):
            values = ["" if c is None else (c.isoformat()[:10] if hasattr(c, "isoformat") else str(c)) for c in row]
            if any(v.strip() for v in values):
                yield i + 2, values

    return header, cells(), "xlsx"


def map_header(header: list[str], aliases: dict[str, Iterable[str]], required: Iterable[str]) -> dict[str, int]:
    """Column index per field; unknown columns and missing required ones are errors."""
    lookup = {}
    for fieldname, names in aliases.items():
        for n in [fieldname, *names]:
            lookup[n.strip().lower()] = fieldname
    index, unknown = {}, []
    for i, h in enumerate(header):
        key = lookup.get(h.strip().lower())
        if key is None:
            if h.strip():
                unknown.append(h)
            continue
        index[key] = i
    missing = [f for f in required if f not in index]
    if unknown:
        raise ImportFileError(_("Unknown columns: %(cols)s.") % {"cols": ", ".join(unknown)})
    if missing:
        raise ImportFileError(_("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)})
    return index


def run_import(
    name: str,
    data: bytes,
    *,
    aliases: dict[str, Iterable[str]],
    required: Iterable[str],
    validate: Callable[[dict], object],
    write: Callable[[list], int],
    valid_only: bool = False,
) -> ImportReport:
    """Validate every row, then write all of them in one transaction (or the valid ones)."""
    header, rows, encoding = read_rows(name, data)
    index = map_header(header, aliases, required)
    report = ImportReport(encoding=encoding)
    valid = []
    for line, cells in rows:
        report.total += 1
        record = {f: (cells[i].strip() if i < len(cells) and cells[i] is not None else "") for f, i in index.items()}
        try:
            valid.append(validate(record))
        except ValidationError as exc:
            for fieldname, messages in _messages(exc):
                for m in messages:
                    report.errors.append(RowError(line, fieldname, m))
    if report.total == 0:
        raise ImportFileError(_("The file has a header but no rows."))
    if report.errors and not valid_only:
        return report
    with transaction.atomic():
        report.written = write(valid)
    report.committed = True
    return report


def _messages(exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for k, errs in exc.error_dict.items():
            yield k, [m for e in errs for m in e.messages]
    else:
        yield "", list(exc.messages)


def read_path(path: str | Path) -> tuple[str, bytes]:
    p = Path(path)
    if not p.exists():
        raise ImportFileError(_("No such file: %(path)s") % {"path": str(p)})
    return p.name, p.read_bytes()
