"""Reading register files for linkage and writing the pairs.

Input: CSV with the header ``id,pin,last_name,first_name,patronymic,
birth_date,sex,region,district,settlement`` (any order, case and surrounding
spaces ignored). UTF-8, with or without BOM; a Windows-1251 file (common
from older systems) is recognised by its Cyrillic letters, read, and
reported. Records are read as a stream, so a large register is never held
whole; every unreadable value is collected with its line number and the
whole file is refused (nothing is linked half-way).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from .records import FIELDS, RecordError, prepare

SNIFF_BYTES = 256 * 1024
MAX_PROBLEMS = 50

_CODES = {
    ("birth_date", "format"): _("the birth date is neither YYYY-MM-DD nor DD.MM.YYYY"),
    ("birth_date", "impossible"): _("the birth date is not a real date"),
    ("sex", "unknown"): _("sex must be F, M or empty"),
    ("id", "empty"): _("the id is empty"),
    ("id", "duplicate"): _("this id was already used on an earlier line"),
    ("row", "cells"): _("the row does not have one value per column of the header"),
    ("header", "unknown"): _("unknown column"),
    ("header", "missing"): _("missing column"),
    ("header", "repeated"): _("repeated column"),
}


class LinkFileError(ValueError):
    """A register file that cannot be used, with a message for the person who gave it."""

    def __init__(self, path, message, problems: list[tuple[int, str, str, str]] | None = None):
        self.path = str(path)
        self.message = message
        self.problems = problems or []  # (line, field, code, value)
        super().__init__(self.path)

    def __reduce__(self):  # survives the trip back from a worker process
        return (LinkFileError, (self.path, self.message, self.problems))

    def __str__(self) -> str:
        lines = [f"{Path(self.path).name}: {self.message}"]
        for line, fld, code, value in self.problems:
            text = _CODES.get((fld, code), code)
            shown = f" ({value!r})" if value else ""
            lines.append(f"  {_('line')} {line}: {fld}: {text}{shown}")
        return "\n".join(str(x) for x in lines)


def detect_encoding(path) -> str:
    """``utf-8-sig``, ``utf-8`` or ``cp1251``; raises :class:`LinkFileError` otherwise."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise LinkFileError(path, _("The file is empty."))
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = head.decode("cp1251", errors="replace")
    # Judge by the letters outside ASCII: in a Windows-1251 file they are Cyrillic.
    letters = [c for c in text if c.isalpha() and not c.isascii()]
    cyr = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    if letters and cyr / len(letters) >= 0.9 and "\ufffd" not in text:
        return "cp1251"
    raise LinkFileError(path, _("The file is neither UTF-8 nor Windows-1251 text; save it as UTF-8."))


def _header(path, row: list[str], line: int = 1) -> list[int]:
    names = [c.strip().lstrip("\ufeff").casefold() for c in row]
    unknown = [c for c in names if c not in FIELDS]
    missing = [c for c in FIELDS if c not in names]
    dup = sorted({c for c in names if names.count(c) > 1})
    if unknown or missing or dup:
        parts = []
        if unknown:
            parts.append(str(_("unknown columns: %(cols)s")) % {"cols": ", ".join(unknown)})
        if missing:
            parts.append(str(_("missing columns: %(cols)s")) % {"cols": ", ".join(missing)})
        if dup:
            parts.append(str(_("repeated columns: %(cols)s")) % {"cols": ", ".join(dup)})
        problems = ([(line, "header", "unknown", c) for c in unknown] + [(line, "header", "missing", c) for c in missing]
                    + [(line, "header", "repeated", c) for c in dup])
        raise LinkFileError(path, str(_("The header must be exactly %(header)s; %(problems)s.")) % {
            "header": ",".join(FIELDS), "problems": "; ".join(parts)}, problems)
    return [names.index(f) for f in FIELDS]


def _records(rows, order: list[int], width: int, check_ids: bool, problems: list) -> Iterator[tuple]:
    """Prepared records from (line number, cells) pairs; problems are appended."""
    seen_ids: set[str] = set()
    i0, i1, i2, i3, i4, i5, i6, i7, i8, i9 = order
    for line, row in rows:
        if len(row) != width:
            if not any(c.strip() for c in row):
                continue
            problems.append((line, "row", "cells", ""))
        else:
            rid = row[i0].strip()
            try:
                if not rid:
                    raise RecordError("id", "empty")
                if check_ids:
                    if rid in seen_ids:
                        raise RecordError("id", "duplicate", rid)
                    seen_ids.add(rid)
                rec = prepare(rid, row[i1], row[i2], row[i3], row[i4], row[i5], row[i6], row[i7], row[i8], row[i9])
            except RecordError as err:
                problems.append((line, err.field, err.code, err.value))
            else:
                if not problems:
                    yield rec
        if len(problems) >= MAX_PROBLEMS:
            break


class RegisterFile:
    """A register CSV file: iterate for its prepared records; ``split(n)`` for parallel scans.

    The encoding and the header are checked when the object is made, so a bad
    file fails before any work starts.
    """

    yields_prepared = True

    def __init__(self, path, *, notice: Callable[[str], None] | None = None, check_ids: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise LinkFileError(path, _("There is no such file."))
        self.encoding = detect_encoding(path)
        self.check_ids = check_ids
        if self.encoding == "cp1251" and notice:
            notice(str(_("%(file)s is not UTF-8; read it as Windows-1251 (Cyrillic).")) % {"file": self.path.name})
        with open(self.path, encoding=self.encoding, newline="") as f:
            reader = csv.reader(f)
            try:
                header = next(reader, None)
                while header is not None and not any(c.strip() for c in header):
                    header = next(reader, None)
            except (UnicodeDecodeError, csv.Error):
                raise LinkFileError(path, _("The header line cannot be read.")) from None
            if header is None:
                raise LinkFileError(path, _("The file is empty."))
            self.order = _header(path, header, reader.line_num)
            self.width = len(header)
            self.header_lines = reader.line_num
        with open(self.path, "rb") as f:
            for _i in range(self.header_lines):
                f.readline()
            self.data_start = f.tell()
        self.size = self.path.stat().st_size

    def __iter__(self) -> Iterator[tuple]:
        problems: list = []
        n = 0
        with open(self.path, encoding=self.encoding, newline="") as f:
            for _i in range(self.header_lines):
                f.readline()
            reader = csv.reader(f)
            h = self.header_lines
            rows = ((h + reader.line_num, row) for row in reader)
            try:
                for rec in _records(rows, self.order, self.width, self.check_ids, problems):
                    n += 1
                    yield rec
            except UnicodeDecodeError:
                msg = str(_("The file is not valid %(encoding)s text after line %(line)s."))
                raise LinkFileError(self.path, msg % {
                    "encoding": self.encoding, "line": self.header_lines + reader.line_num}) from None
            except csv.Error as err:
                raise LinkFileError(self.path, str(_("The file is not valid CSV at line %(line)s: %(error)s.")) % {
                    "line": self.header_lines + reader.line_num, "error": err}) from None
        if problems:
            raise LinkFileError(self.path, _("Some values cannot be read; nothing was linked."), problems)
        if n == 0:
            raise LinkFileError(self.path, _("The file has a header but no records."))

    def count(self) -> int:
        return count_lines(self.path) - self.header_lines + 1

    def split(self, n: int) -> list | None:
        """Up to ``n`` byte ranges cut at line ends, or None if the file has quoted fields
        (a quoted value may hold a line break, so lines are not records)."""
        if n <= 1 or self.size - self.data_start < (1 << 20):
            return None
        cuts = [self.data_start]
        lines_before = [self.header_lines]
        with open(self.path, "rb") as f:
            f.seek(self.data_start)
            pos, line = self.data_start, self.header_lines
            step = (self.size - self.data_start) // n
            target = self.data_start + step
            while chunk := f.read(1 << 22):
                if b'"' in chunk:
                    return None
                while len(cuts) < n and pos + len(chunk) > target:
                    k = chunk.find(b"\n", max(target - pos, 0))
                    if k < 0:
                        break
                    cuts.append(pos + k + 1)
                    lines_before.append(line + chunk.count(b"\n", 0, k + 1))
                    target = cuts[-1] + step
                line += chunk.count(b"\n")
                pos += len(chunk)
        cuts.append(self.size)
        return [_Part(self, cuts[i], cuts[i + 1], lines_before[i]) for i in range(len(cuts) - 1)
                if cuts[i + 1] > cuts[i]]


class _Part:
    """Records of one byte range of a register file (see :meth:`RegisterFile.split`)."""

    yields_prepared = True

    def __init__(self, reg: RegisterFile, start: int, end: int, line0: int):
        self.reg, self.start, self.end, self.line0 = reg, start, end, line0

    def _rows(self, where: list):
        """(line number, cells): the range has no quote character, so a line is a record split at commas."""
        enc = self.reg.encoding if self.reg.encoding != "utf-8-sig" else "utf-8"
        line = self.line0
        with open(self.reg.path, "rb") as f:
            f.seek(self.start)
            remaining = self.end - self.start
            for raw in f:
                line += 1
                where[0] = line
                yield line, raw.decode(enc).rstrip("\r\n").split(",")
                remaining -= len(raw)
                if remaining <= 0:
                    break

    def __iter__(self) -> Iterator[tuple]:
        problems: list = []
        where = [self.line0]
        try:
            yield from _records(self._rows(where), self.reg.order, self.reg.width, self.reg.check_ids, problems)
        except UnicodeDecodeError:
            raise LinkFileError(self.reg.path, str(_("The file is not valid %(encoding)s text at line %(line)s.")) % {
                "encoding": self.reg.encoding, "line": where[0]}) from None
        if problems:
            raise LinkFileError(self.reg.path, _("Some values cannot be read; nothing was linked."), problems)


def read_register(path, *, notice: Callable[[str], None] | None = None, check_ids: bool = True) -> Iterator[tuple]:
    """Prepared records of a register file, streamed; raises :class:`LinkFileError` if any is bad."""
    return iter(RegisterFile(path, notice=notice, check_ids=check_ids))


def count_lines(path) -> int:
    """Number of lines (for progress), counted fast on bytes."""
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            n += chunk.count(b"\n")
    return max(n - 1, 0)


def write_pairs(path, pairs, *, with_details: bool = False) -> None:
    """``left_id,right_id,score`` (plus ``weight,method,reason`` and one column per comparison with details)."""
    from .compare import NAMES

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        head = ["left_id", "right_id", "score"]
        if with_details:
            head += ["weight", "method", "reason"] + [f"{n}_level" for n in NAMES] + [f"{n}_weight" for n in NAMES]
        w.writerow(head)
        for p in pairs:
            row = [p.left_id, p.right_id, f"{p.score:.6f}"]
            if with_details:
                row += [f"{p.weight:.3f}", p.method, p.reason]
                row += [lvl for _, lvl, _ in p.fields] + [f"{wt:.2f}" for _, _, wt in p.fields]
            w.writerow(row)
