"""Field checks of the registry of people served (服务对象), shared by the admin's form and every import.

A person refused by one entry point is refused by all, with the same reason.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from pypinyin import Style, lazy_pinyin
from stdnum.cn import ric

from models.enums import BENEFICIARY_CATEGORIES, RISK_TIERS
from services.geo import is_latitude, is_longitude
from services.validation import FieldProblem

MAX_NAME_LENGTH = 64
MAX_ADDRESS_LENGTH = 255
MAX_VILLAGE_LENGTH = 64
MAX_PHONE_LENGTH = 32

# Polyphonic characters whose reading as a surname differs from their common reading (区 is Ou in
# Guangdong, 覃 is Qin), so that a worker typing "ozq" finds 区志强.
_SURNAME_INITIALS = {
    "曾": "z", "单": "s", "解": "x", "仇": "q", "查": "z", "区": "o", "乐": "y", "覃": "q", "翟": "z",
    "召": "s", "种": "c", "繁": "p", "秘": "b",
}
_GENDERS = {"male": "male", "m": "male", "男": "male", "female": "female", "f": "female", "女": "female"}
# One rule for every way categories arrive as text (CSV and XLSX rosters alike): any of these separates them.
CATEGORY_SEPARATORS = re.compile(r"[;；、,，/]")
# Words counties write for a category beside the registry's own labels (低保户 for 低保).
CATEGORY_ALIASES = {
    "低保户": "dibao", "低保对象": "dibao", "城乡低保": "dibao", "特困人员": "tekun", "特困供养": "tekun",
    "特困供养人员": "tekun", "五保": "tekun", "五保户": "tekun", "低保边缘户": "dibao_edge", "边缘户": "dibao_edge",
    "事实孤儿": "unsupported_child", "残疾": "disabled", "残疾人员": "disabled", "独居": "elderly_alone",
    "空巢老人": "elderly_alone", "留守": "left_behind_elderly",
}
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_EXCEL_SCIENTIFIC = re.compile(r"\d(\.\d+)?E\+?\d+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,}")


# --- pinyin initials -------------------------------------------------------------------------------------------


def name_initials(name: str) -> str:
    """The lowercase first letters of a name's pinyin, for phone search: 张小明 → "zxm", 区志强 → "ozq".

    Latin words count by their first letter; punctuation such as the middle dot of 阿依古丽·买买提 is dropped.
    """
    name = (name or "").strip()
    letters = []
    if name and name[0] in _SURNAME_INITIALS:
        letters.append(_SURNAME_INITIALS[name[0]])
        name = name[1:]
    for piece in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"):
        # Characters pypinyin does not know come back as whole runs ("Tom "): keep each word's first letter.
        letters.extend(word[0].lower() for word in re.findall(r"[0-9A-Za-z]+", piece))
    return "".join(letters)[:MAX_NAME_LENGTH]


# --- field checks, shared by the form and the imports -------------------------------------------------------------


def clean_text(value) -> str:
    return "" if value is None else str(value).strip()


def validate_id_number(value) -> str:
    """Normalise a resident ID number (full-width digits, lowercase x) and check it against GB 11643.

    Checks the length, the format, the check digit and the birth date. The place code is not checked:
    python-stdnum's table dates each county code, and elderly people's numbers, issued in the 1980s,
    carry codes younger than their birth year, so that check would refuse real people.
    """
    number = unicodedata.normalize("NFKC", clean_text(value)).replace(" ", "").upper()
    if not number:
        raise FieldProblem("missing", "身份证号不能为空")
    if _EXCEL_SCIENTIFIC.fullmatch(number):
        raise FieldProblem("id_number_mangled", "身份证号被 Excel 转成了科学计数法，请把该列设为文本后重新导出")
    if len(number) != 18:
        raise FieldProblem("id_number_length", f"身份证号应为 18 位（现为 {len(number)} 位）",
                           {"length": len(number)})
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise FieldProblem("id_number_format", "身份证号只能由数字组成，最后一位可为 X")
    # python-stdnum's calc_check_digit expects the full number and ignores its last character.
    if number[-1] != ric.calc_check_digit(number):
        raise FieldProblem("id_number_checksum", "身份证号校验位错误")
    try:
        born = birth_date_from_id_number(number)
    except ValueError:
        raise FieldProblem("id_number_birth_date", "身份证号中的出生日期无效") from None
    if born.year < 1900 or born > date.today():
        raise FieldProblem("id_number_birth_date", "身份证号中的出生日期无效")
    return number


def complete_id_number(first_17_digits: str) -> str:
    """Append the GB 11643 check digit to the first 17 digits of an ID number."""
    # python-stdnum's calc_check_digit expects a whole number and ignores its last character.
    return first_17_digits + ric.calc_check_digit(first_17_digits + "0")


def birth_date_from_id_number(number: str) -> date:
    """The birth date digits 7-14 of an ID number encode; ValueError when they are no date."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_from_id_number(number: str) -> str:
    """The gender a valid ID number encodes: the 17th digit is odd for men."""
    return "male" if int(number[16]) % 2 else "female"



def fill_from_id_number(values: dict, id_number: str | None) -> None:
    """Take a gender or birth date given blank (None in values) from the ID number, which carries both.

    One rule for the admin's form and every import: a person is never stored without them when the ID
    number says them.
    """
    if not id_number:
        return
    if "gender" in values and values["gender"] is None:
        values["gender"] = gender_from_id_number(id_number)
    if "birth_date" in values and values["birth_date"] is None:
        values["birth_date"] = birth_date_from_id_number(id_number)


def parse_gender(value) -> str | None:
    """male/female from 男/女, male/female or m/f; None when blank."""
    text = clean_text(value).lower()
    if not text:
        return None
    if text not in _GENDERS:
        raise FieldProblem("gender", f"性别“{clean_text(value)}”无效，应为 男 或 女", {"value": clean_text(value)})
    return _GENDERS[text]


def parse_date(value) -> date | None:
    """A date from a date, or from text such as 1950-03-01, 1950/3/1, 1950年3月1日 or 19500301; None when blank."""
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", clean_text(value))
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                parsed = date(*(int(part) for part in match.groups()))
            except ValueError:
                break
            if parsed.year >= 1900 and parsed <= date.today():
                return parsed
            break
    raise FieldProblem("date", f"日期“{text}”无效，应如 1950-03-01", {"value": text})


def _category_lookup() -> dict[str, str]:
    lookup = dict(CATEGORY_ALIASES)
    for code, labels in BENEFICIARY_CATEGORIES.items():
        lookup[code] = code
        lookup[labels["zh"]] = code
        lookup[labels["en"].lower()] = code
    return lookup


_CATEGORIES_BY_NAME = _category_lookup()


def parse_categories(value) -> list[str]:
    """Category codes from a list, or from text split by CATEGORY_SEPARATORS.

    Each piece is a code, a label (低保) or a county's wording of it (低保户).
    """
    pieces = CATEGORY_SEPARATORS.split(value) if isinstance(value, str) else list(value or ())
    codes, unknown = [], []
    for piece in (unicodedata.normalize("NFKC", clean_text(piece)) for piece in pieces):
        if not piece:
            continue
        code = _CATEGORIES_BY_NAME.get(piece) or _CATEGORIES_BY_NAME.get(piece.lower())
        if code is None:
            unknown.append(piece)
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise FieldProblem("unknown_category", "未知类别：" + "、".join(f"“{name}”" for name in unknown),
                           {"values": unknown})
    if not codes:
        raise FieldProblem("missing", "至少需要一个类别")
    return sorted(codes)


def _risk_tier_lookup() -> dict[str, str]:
    lookup = {}
    for code, labels in RISK_TIERS.items():
        lookup[code] = code
        lookup[labels["zh"]] = code
        lookup[labels["zh"].split("（")[0]] = code  # 高风险 for 高风险（每周）
    return lookup


_RISK_TIERS_BY_NAME = _risk_tier_lookup()


def parse_risk_tier(value) -> str | None:
    """A risk tier code (high/key/general or 高风险/重点/一般); None when blank."""
    text = clean_text(value)
    if not text:
        return None
    if text.lower() not in _RISK_TIERS_BY_NAME and text not in _RISK_TIERS_BY_NAME:
        raise FieldProblem("risk_tier", f"风险等级“{text}”无效，应为 高风险、重点 或 一般", {"value": text})
    return _RISK_TIERS_BY_NAME.get(text.lower()) or _RISK_TIERS_BY_NAME[text]


def _coordinate(value, label: str) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    text = unicodedata.normalize("NFKC", clean_text(value))
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise FieldProblem("coordinate", f"{label}“{text}”不是数字", {"value": text}) from None


def parse_home_location(latitude, longitude) -> tuple[float | None, float | None]:
    """A WGS-84 (lat, lon) pair, or (None, None); one without the other, or off the globe, is refused."""
    lat, lon = _coordinate(latitude, "纬度"), _coordinate(longitude, "经度")
    if (lat is None) != (lon is None):
        raise FieldProblem("coordinate_pair", "经纬度须同时填写或同时留空")
    if lat is None:
        return None, None
    if not (is_latitude(lat) and is_longitude(lon)):
        raise FieldProblem("coordinate_range", f"坐标 {lat}, {lon} 超出范围（纬度 ±90，经度 ±180）",
                           {"lat": lat, "lon": lon})
    return lat, lon


def parse_name(value) -> str:
    """A person's name: required, at most 64 characters."""
    name = clean_text(value)
    if not name:
        raise FieldProblem("missing", "姓名不能为空")
    if len(name) > MAX_NAME_LENGTH:
        raise FieldProblem("too_long", f"姓名不能超过 {MAX_NAME_LENGTH} 个字", {"limit": MAX_NAME_LENGTH})
    return name


def parse_phone(value) -> str | None:
    """A phone number of digits, spaces, dashes and brackets; None when blank."""
    phone = unicodedata.normalize("NFKC", clean_text(value))
    if not phone:
        return None
    if len(phone) > MAX_PHONE_LENGTH or not _PHONE.fullmatch(phone):
        raise FieldProblem("phone", f"电话“{phone}”格式不正确", {"value": phone})
    return phone


def bounded_text(value, limit: int, label: str) -> str:
    text = clean_text(value)
    if len(text) > limit:
        raise FieldProblem("too_long", f"{label}不能超过 {limit} 个字", {"limit": limit})
    return text




