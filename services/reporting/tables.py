"""The spreadsheet writers of every download (exports and reports): CSV and XLSX, with one formula guard.

Spreadsheet programs run a cell whose text starts with `=`, `+`, `-` or `@` (or a tab or carriage return before
one) as a formula: text from the field (notes, names, addresses) must never reach a sheet as one. In CSV such
text gets a leading apostrophe, which Excel and LibreOffice show as text; in XLSX it is stored as a text cell
(openpyxl would store text starting with `=` as a formula). Numbers, dates and times are written as such.

Every XLSX sheet's columns are as wide as their header and first rows need (display_width: a Chinese
character takes two units of Excel's width, a Latin one one), between MIN_ and MAX_COLUMN_WIDTH, so
a sheet opens readable without widening columns by hand.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BATCH_ROWS = 1000
FILE_CHUNK_BYTES = 64 * 1024
# Excel's limit is 1,048,576 rows a sheet, header included; longer tables continue on another sheet.
XLSX_ROWS_PER_SHEET = 1_048_575
# Column widths in Excel's units (about one Latin character); a long note wraps past the maximum.
MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH = 6, 60
# What sizes a column: the header and the first rows (a streamed sheet cannot be measured to its end).
WIDTH_SAMPLE_ROWS = 200
# What a date or time takes once Excel shows it (2024-05-06 09:30:00).
DATE_WIDTH, DATETIME_WIDTH = 10, 19


@dataclass(frozen=True)
class Column:
    """One column of a table: a stable key (e.g. a GeoJSON property), its header, its width in XLSX."""

    key: str
    header: str
    # The least width of the column; the header and the first rows may widen it (see the module docstring).
    width: int = MIN_COLUMN_WIDTH


def csv_value(value):
    """A value as a CSV field: local times without offset, ISO dates, blank for None, formulas neutralised."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_value(sheet, value):
    """A value as an XLSX cell of `sheet`: naive local times, text cleaned of what XML forbids, never a formula."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
    return value


def display_width(value) -> int:
    """How many units of Excel's column width a value takes: two per wide (Chinese) character, one per other."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return DATETIME_WIDTH
    if isinstance(value, date):
        return DATE_WIDTH
    if isinstance(value, float):
        value = f"{value:.2f}"
    text = str(value)
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(character) in ("W", "F") else 1 for character in text)


def column_width(values: Iterable, least: int = MIN_COLUMN_WIDTH) -> int:
    """The width a column of these values needs: the widest plus a margin, within the minimum and maximum."""
    widest = max((display_width(value) for value in values), default=0)
    return min(MAX_COLUMN_WIDTH, max(least, MIN_COLUMN_WIDTH, widest + 2))


def fit_column_widths(sheet, min_row: int = 1) -> None:
    """Size every column of an in-memory sheet to its values from min_row on (e.g. below a title row)."""
    for index, values in enumerate(sheet.iter_cols(min_row=min_row, values_only=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column_width(values)


def append_xlsx_row(sheet, values: Iterable) -> None:
    """Append one row of values to a sheet (normal or write-only) through xlsx_value."""
    sheet.append([xlsx_value(sheet, value) for value in values])


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """UTF-8 with a BOM (so Excel reads the Chinese), the header row, then one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_value(header) for header in headers])
    yield "\ufeff".encode() + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_value(value) for value in row])
        if count % CSV_BATCH_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """A whole (small) CSV file at once, as csv_chunks writes it."""
    return b"".join(csv_chunks(headers, rows))


def _new_sheet(workbook: Workbook, title: str, columns: Sequence[Column], widths: Sequence[int], number: int):
    sheet = workbook.create_sheet(title if number == 1 else f"{title}（{number}）")
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    return sheet


def xlsx_chunks(title: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """A write-only workbook saved to a temporary file, then read back in chunks; the file is deleted at the end.

    openpyxl's write-only mode keeps no rows in memory; the file is deleted even when the download is
    abandoned (the response closes this generator). The columns are sized on the header and the first
    WIDTH_SAMPLE_ROWS rows, held back until then (a write-only sheet takes its widths before any row).
    """
    handle, path = tempfile.mkstemp(prefix="zoufang-export-", suffix=".xlsx")
    os.close(handle)
    try:
        rows = iter(rows)
        first_rows = list(islice(rows, WIDTH_SAMPLE_ROWS))
        widths = [column_width([column.header, *(row[index] for row in first_rows if index < len(row))],
                               least=column.width)
                  for index, column in enumerate(columns)]
        workbook = Workbook(write_only=True)
        sheets, sheet, rows_in_sheet = 1, _new_sheet(workbook, title, columns, widths, 1), 0
        for row in chain(first_rows, rows):
            if rows_in_sheet == XLSX_ROWS_PER_SHEET:
                sheets += 1
                sheet, rows_in_sheet = _new_sheet(workbook, title, columns, widths, sheets), 0
            append_xlsx_row(sheet, row)
            rows_in_sheet += 1
        workbook.save(path)
        with open(path, "rb") as file:
            while chunk := file.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def xlsx_bytes(workbook: Workbook) -> bytes:
    """A (small, in-memory) workbook as the bytes of its file."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
