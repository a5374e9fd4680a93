"""Reading what SMEs export: CSV of any encoding and separator, XLSX, JSON; numbers, HTML, headers.

- **Encoding**: a byte-order mark decides; else strict UTF-8 when the bytes are UTF-8; else
  ``charset-normalizer`` guesses (Excel's cp1252 CSVs, latin-1). ``encoding=`` overrides it.
- **Separator**: ``,`` ``;`` tab or ``|``, sniffed from the header (Spanish Excel writes ``;``).
- **XLSX** through ``openpyxl`` (read-only): the first sheet (or ``sheet=``), the first non-empty
  row is the header; dates stay dates, numbers stay numbers.
- **JSON**: an array of objects, an object holding one (``{"tickets": [...]}``), or JSON lines.
- **Decimal commas**: :func:`parse_number` reads ``1.234,56``, ``1,234.56``, ``12,5`` and ``€ 9,99``.

Every record carries where it came from (:class:`Pos`), so a rejected row can be found in its file.
"""

from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from analyzer.errors import InputFormatError

__all__ = ["Pos", "Record", "detect_encoding", "find_column", "html_to_text", "json_side_list", "norm_header",
           "parse_number", "read_json_records", "read_records", "text_of"]

_SNIFF_BYTES = 1 << 20


@dataclass(frozen=True)
class Pos:
    """Where a record is: file name, 0-based record number, 1-based line (-1 when unknown)."""

    file: str
    row: int
    line: int = -1


@dataclass
class Record:
    """One input record: its values (header -> value, native types kept) and where it is."""

    pos: Pos
    values: dict[str, Any]
    error: str = ""  # a reader's reason code (undecodable, malformed_row, bad_json), "" when read


def detect_encoding(path: Path, encoding: str | None = None) -> str:
    """The text encoding of ``path`` (see the module docstring); ``encoding`` wins when given."""
    if encoding:
        try:
            "a".encode(encoding)
        except LookupError as exc:
            raise InputFormatError(f"unknown text encoding {encoding!r}; try utf-8, cp1252 or latin-1, or leave "
                                   "it out to detect it.") from exc
        return encoding
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and len(head) == _SNIFF_BYTES:
            return "utf-8"  # a character cut by the sniff window
    from charset_normalizer import from_bytes

    best = from_bytes(head, cp_isolation=["cp1252", "latin_1", "iso8859_15", "cp850", "mac_roman", "utf_16"]).best()
    return best.encoding if best is not None else "cp1252"


def norm_header(name: str) -> str:
    """``"Fecha de creación "`` -> ``"fecha_de_creacion"``: lower case, no accents, ``_`` between words."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def find_column(columns: Iterable[str], *candidates: str) -> str | None:
    """The first of ``candidates`` present among ``columns``, compared by :func:`norm_header`."""
    index: dict[str, str] = {}
    for c in columns:
        index.setdefault(norm_header(c), c)
    for cand in candidates:
        hit = index.get(norm_header(cand))
        if hit is not None:
            return hit
    return None


_NUMBER_CHARS = re.compile(r"[^\d.,\-+eE]")


def parse_number(value: Any, decimal: str | None = None) -> float | None:
    """A finite number from a cell, or None. ``decimal`` is ``","`` or ``"."``; None guesses per value:
    the last of ``.``/``,`` is the decimal mark when both appear; a lone ``,`` is decimal unless it
    is followed by exactly three digits (``1,234``: thousands)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    text = _NUMBER_CHARS.sub("", str(value).strip().replace("\u2212", "-"))
    if not text or not any(ch.isdigit() for ch in text):
        return None
    if decimal is None:
        if "," in text and "." in text:
            decimal = "," if text.rfind(",") > text.rfind(".") else "."
        elif text.count(",") == 1 and not re.search(r",\d{3}$", text):
            decimal = ","
        elif text.count(".") > 1:
            decimal = ","  # 1.234.567: dots group thousands
        else:
            decimal = "."
    thousands = "." if decimal == "," else ","
    text = text.replace(thousands, "").replace(decimal, ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})
    _SKIP = frozenset({"script", "style", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


def html_to_text(value: Any) -> str:
    """Plain text of an HTML (or plain) body: tags, scripts and styles dropped, entities decoded,
    whitespace tidied (paragraphs kept as line breaks)."""
    text = text_of(value)
    if not text:
        return ""
    if _TAG.search(text):
        parser = _TextExtractor()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    else:
        text = html.unescape(text)
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line).strip()


def text_of(value: Any) -> str:
    """A cell as stripped text ("" for empty, None or NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --------------------------------------------------------------------------- files


def read_records(path: Path, *, encoding: str | None = None, delimiter: str | None = None,
                 sheet: str | None = None) -> list[Record]:
    """Every record of a CSV/TSV (any encoding), XLSX or JSON/JSONL file."""
    if not path.is_file():
        raise InputFormatError(f"input file {str(path)!r} does not exist or is not a file.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return list(_xlsx_records(path, sheet))
    if suffix in (".json", ".jsonl", ".ndjson"):
        return read_json_records(path, encoding=encoding)
    if suffix in (".csv", ".tsv", ".txt", ".tab"):
        return list(_csv_records(path, encoding, delimiter))
    raise InputFormatError(f"cannot tell the format of {path.name!r} from its extension {suffix!r}; exports are "
                           "read from .csv, .tsv, .xlsx, .json or .jsonl files.")


def _csv_records(path: Path, encoding: str | None, delimiter: str | None) -> Iterator[Record]:
    from analyzer.io import SOURCE_LINE_COL, SOURCE_ROW_COL, iter_chunks
    from analyzer.io.text_readers import READ_ERROR_COL

    enc = detect_encoding(path, encoding)
    source = path
    tmp: Path | None = None
    if enc.replace("_", "-").lower().startswith("utf-16"):
        # The byte reader splits records on b"\n", wrong for UTF-16 (Excel's "Unicode text"):
        # transcode once to a private UTF-8 copy next to nothing else.
        import tempfile

        fd, name = tempfile.mkstemp(suffix=".csv")
        tmp = Path(name)
        with open(fd, "wb") as fh:
            fh.write(path.read_bytes().decode(enc).encode("utf-8"))
        source, enc = tmp, "utf-8"
    fmt = "tsv" if path.suffix.lower() in (".tsv", ".tab") else "csv"
    try:
        for chunk in iter_chunks(source, fmt, 5000, encoding=enc, delimiter=delimiter):
            cols = [c for c in chunk.columns if c not in (SOURCE_ROW_COL, SOURCE_LINE_COL, READ_ERROR_COL)]
            for rec in chunk.to_dict("records"):
                yield Record(Pos(path.name, int(rec[SOURCE_ROW_COL]), int(rec[SOURCE_LINE_COL])),
                             {c: rec[c] for c in cols}, str(rec[READ_ERROR_COL] or ""))
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _xlsx_records(path: Path, sheet: str | None) -> Iterator[Record]:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - a core dependency
        from analyzer.errors import MissingExtraError

        raise MissingExtraError("reading XLSX files", extra="import", missing=("openpyxl",)) from exc
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is not a workbook
        raise InputFormatError(f"{path.name!r} is not a readable XLSX workbook ({type(exc).__name__}: {exc}); "
                               "re-save it from Excel as .xlsx, or export it as CSV.") from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputFormatError(f"{path.name!r} has no sheet {sheet!r}; its sheets: {wb.sheetnames}.")
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        header: list[str] | None = None
        row_no = 0
        for line, cells in enumerate(ws.iter_rows(values_only=True), start=1):
            if header is None:
                if any(c not in (None, "") for c in cells):
                    header = [text_of(c) or f"column_{i + 1}" for i, c in enumerate(cells)]
                continue
            if all(c in (None, "") for c in cells):
                continue
            values = {h: (c if not isinstance(c, str) else c.strip()) for h, c in zip(header, cells, strict=False)}
            yield Record(Pos(path.name, row_no, line), values)
            row_no += 1
    finally:
        wb.close()


def read_json_records(path: Path, *, encoding: str | None = None, key: str | None = None) -> list[Record]:
    """Objects of a JSON array, of the first list of objects inside a JSON object (or under ``key``),
    or of JSON lines. A JSON line that is not an object is a record with error ``bad_json``."""
    enc = detect_encoding(path, encoding)
    text = path.read_bytes().decode(enc, errors="replace")
    stripped = text.lstrip()
    if not stripped:
        return []
    if path.suffix.lower() in (".jsonl", ".ndjson") or (stripped[0] == "{" and _looks_like_lines(stripped)):
        out: list[Record] = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            pos = Pos(path.name, len(out), line_no)
            out.append(Record(pos, obj, "") if isinstance(obj, dict) else Record(pos, {}, "bad_json"))
        return out
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputFormatError(f"{path.name!r} is not valid JSON ({exc}); export it again.") from exc
    items = _object_list(data, key)
    if items is None:
        raise InputFormatError(f"{path.name!r}: expected a JSON array of objects or an object holding one "
                               f"(such as {{\"tickets\": [...]}}); received a {type(data).__name__}.")
    return [Record(Pos(path.name, i), it, "") if isinstance(it, dict) else Record(Pos(path.name, i), {}, "bad_json")
            for i, it in enumerate(items)]


def _looks_like_lines(text: str) -> bool:
    first = text.split("\n", 1)[0].strip()
    try:
        return isinstance(json.loads(first), dict) and "\n" in text.strip()
    except ValueError:
        return False


_RECORD_KEYS = ("tickets", "conversations", "reviews", "responses", "orders", "events", "results", "records",
                "data", "items", "rows")


def _object_list(data: Any, key: str | None) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        if key is not None:
            value = data.get(key)
            return value if isinstance(value, list) else None
        for name in _RECORD_KEYS:  # {"tickets": [...], "users": [...]}: the records, not the side-load
            if isinstance(data.get(name), list):
                return list(data[name])
        for value in data.values():
            if isinstance(value, list) and value and isinstance(value[0], Mapping):
                return value
        return [] if any(isinstance(v, list) for v in data.values()) else [data]
    return None


def json_side_list(path: Path, key: str, *, encoding: str | None = None) -> list[dict[str, Any]]:
    """A side-loaded list (e.g. ``"users"`` next to ``"tickets"``) of a JSON object file, or []."""
    if path.suffix.lower() != ".json":
        return []
    try:
        data = json.loads(path.read_bytes().decode(detect_encoding(path, encoding), errors="replace"))
    except ValueError:
        return []
    value = data.get(key) if isinstance(data, Mapping) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
