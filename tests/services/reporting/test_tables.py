"""The shared spreadsheet writers: what every CSV and XLSX download is written with."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from services.reporting.tables import (
    FORMULA_STARTS,
    MAX_COLUMN_WIDTH,
    Column,
    append_xlsx_row,
    csv_bytes,
    csv_chunks,
    display_width,
    fit_column_widths,
    xlsx_bytes,
    xlsx_chunks,
)

FORMULA_LIKE = [start + "1+1" for start in FORMULA_STARTS]


def as_read_back(text: str) -> str:
    # XML turns a carriage return into a line feed when the workbook is read.
    return text.replace("\r", "\n")


def test_csv_has_a_bom_a_header_and_plain_values():
    data = csv_bytes(["名称", "日期", "时间", "数", "空"],
                     [["张三", date(2024, 5, 6), datetime(2024, 5, 6, 9, 30, tzinfo=UTC), -1.5, None]])
    assert data.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["名称", "日期", "时间", "数", "空"], ["张三", "2024-05-06", "2024-05-06 09:30:00", "-1.5", ""]]


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_csv_neutralises_formula_like_text_but_not_negative_numbers(text):
    rows = list(csv.reader(io.StringIO(csv_bytes(["a", "b"], [[text, -3]]).decode("utf-8-sig"))))
    assert rows[1] == ["'" + text, "-3"]


def test_csv_streams_in_batches():
    chunks = list(csv_chunks(["n"], ([number] for number in range(2500))))
    assert len(chunks) == 4  # header, two full batches of 1000, the rest


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_streamed_xlsx_stores_formula_like_text_as_text(text):
    data = b"".join(xlsx_chunks("表", [Column("a", "甲"), Column("b", "乙")], [[text, -3], ["普通", 2.5]]))
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.title == "表" and [cell.value for cell in sheet[1]] == ["甲", "乙"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == (as_read_back(text), "s")
    assert (sheet["B2"].value, sheet["B2"].data_type) == (-3, "n")
    assert sheet["A3"].value == "普通"


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_an_in_memory_workbook_row_stores_formula_like_text_as_text(text):
    workbook = Workbook()
    append_xlsx_row(workbook.active, [text, 4, "ok\x07"])
    sheet = load_workbook(io.BytesIO(xlsx_bytes(workbook))).active
    assert (sheet["A1"].value, sheet["A1"].data_type) == (as_read_back(text), "s")
    assert sheet["B1"].value == 4 and sheet["C1"].value == "ok"


@pytest.mark.parametrize(("value", "width"), [
    ("张三", 4), ("abc", 3), ("茂南区（县/区）", 15), (12, 2), (0.625, 4), (None, 0),
    (date(2024, 5, 6), 10), (datetime(2024, 5, 6, 9, 30), 19),
])
def test_a_chinese_character_takes_two_units_of_width(value, width):
    assert display_width(value) == width


def test_streamed_xlsx_columns_fit_their_header_and_rows():
    columns = [Column("name", "服务对象"), Column("note", "备注"), Column("id", "编号", 10)]
    rows = [["欧阳秀英", "x" * 200, 1], ["李四", "短", 2]]
    sheet = load_workbook(io.BytesIO(b"".join(xlsx_chunks("表", columns, rows)))).worksheets[0]
    widths = [sheet.column_dimensions[letter].width for letter in "ABC"]
    # 8 units of Chinese plus a margin; a long note capped; a declared width kept as the least.
    assert widths == [10, MAX_COLUMN_WIDTH, 10]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["欧阳秀英", "李四"]


def test_an_in_memory_sheet_is_sized_below_its_title_row():
    workbook = Workbook()
    sheet = workbook.active
    append_xlsx_row(sheet, ["一个很长很长很长很长很长很长很长的标题"])
    append_xlsx_row(sheet, ["名称", "数"])
    append_xlsx_row(sheet, ["甲镇社工站", 12345678])
    fit_column_widths(sheet, min_row=2)
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (12, 10)
