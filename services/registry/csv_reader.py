"""Reading a roster CSV: encoding detection (UTF-8, BOM, GB18030), columns, rows with their line numbers.
"""

from __future__ import annotations

import codecs
import csv

from services.registry.bulk_import import (
    CSV_COLUMNS,
    REQUIRED_CSV_COLUMNS,
    RowProblem,
)

# --- CSV files ----------------------------------------------------------------------------------------------------


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _decode_lines(raw: bytes) -> tuple[list[str], set[int], str]:
    """Decode line by line as UTF-8 (BOM or not) or GB18030; return the lines, the undecodable ones, the encoding.

    Excel saves Chinese CSVs as UTF-8 with BOM or as GB18030. Almost any UTF-8 Chinese text is also
    "valid" GB18030 (as gibberish), so UTF-8 wins whenever most non-ASCII lines decode as UTF-8, and a
    damaged UTF-8 file is reported line by line instead of being imported as mojibake.
    """
    had_bom = raw.startswith(codecs.BOM_UTF8)
    lines = raw.removeprefix(codecs.BOM_UTF8).splitlines(keepends=True)
    non_ascii = [line for line in lines if not line.isascii()]
    utf8_lines = sum(_decodes(line, "utf-8") for line in non_ascii)
    encoding = "utf-8" if had_bom or utf8_lines * 2 >= len(non_ascii) else "gb18030"
    decoded, bad = [], set()
    for index, line in enumerate(lines):
        try:
            decoded.append(line.decode(encoding))
        except UnicodeDecodeError:
            bad.add(index)
            decoded.append(line.decode(encoding, errors="replace"))
    return decoded, bad, encoding


def read_beneficiary_csv(raw: bytes) -> tuple[list[tuple[int, dict]], list[RowProblem]]:
    """Parse a roster CSV into (line, {column: value}) records and the problems found while reading.

    Lines are spreadsheet rows (header = 1; a quoted value spanning lines counts once). Columns are
    matched by header name, in any order; the header must hold REQUIRED_CSV_COLUMNS.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [], [RowProblem(1, "", "encoding", "文件是 UTF-16 编码，请另存为“CSV UTF-8”或 GB18030 编码的 CSV",
                               {"kind": "utf16"})]
    lines, bad_lines, encoding = _decode_lines(raw)
    reader = csv.reader(lines)
    records, problems, header = [], [], None
    physical_start, line = 0, 0
    try:
        for values in reader:
            line += 1
            undecodable = any(index in bad_lines for index in range(physical_start, reader.line_num))
            physical_start = reader.line_num
            if undecodable:
                message = f"含有无法识别的字符（按 {encoding.upper()} 解码失败），请以 UTF-8 或 GB18030 保存"
                problems.append(RowProblem(line, "", "encoding", message, {"encoding": encoding.upper()}))
                if header is None:
                    return [], problems
                continue
            if header is None:
                header = [value.strip().lstrip("\ufeff").lower() for value in values]
                missing = [column for column in REQUIRED_CSV_COLUMNS if column not in header]
                if missing:
                    return [], [RowProblem(1, "", "header", "表头缺少列：" + ", ".join(missing)
                                           + "（应为 " + ",".join(CSV_COLUMNS) + "）",
                                           {"missing": missing, "expected": list(CSV_COLUMNS)})]
                continue
            if len(values) > len(header) and any(value.strip() for value in values[len(header):]):
                message = f"有 {len(values)} 个字段，表头只有 {len(header)} 列（地址中的逗号需加引号）"
                problems.append(RowProblem(line, "", "too_many_fields", message,
                                           {"fields": len(values), "columns": len(header)}))
                continue
            padded = values[:len(header)] + [""] * (len(header) - len(values))
            records.append((line, dict(zip(header, padded, strict=True))))
    except csv.Error as error:
        problems.append(RowProblem(line + 1, "", "csv_format", f"CSV 格式错误：{error}", {"detail": str(error)}))
    if header is None and not problems:
        problems.append(RowProblem(1, "", "header", "文件是空的", {"kind": "empty"}))
    return records, problems


