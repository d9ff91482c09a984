"""A realistic demo county: 茂南区 of Maoming, Guangdong, with three township stations, their villages,
accounts for every role, about sixty people in the registry and three months of their visits
(services.demo_visits): reviewed history, a queue still to review, people overdue.

Everything goes through the same services an admin uses (add_station, create_user, the roster import),
so the demo is also a smoke test of them. The people are made up but plausible (names common in western
Guangdong, valid ID numbers of 440902); the content is drawn from a fixed seed so every demo looks the same.
Only the passwords are random, fresh for every seeding, and written to a file only the owner can read.
"""

from __future__ import annotations

import os
import random
import secrets
import string
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from cli.demo.history import HistorySummary, write_visit_history
from extensions import db
from models import Region, Station, User, utcnow
from models.enums import Role
from services.accounts.users import create_user
from services.errors import Conflict
from services.registry.bulk_import import import_beneficiaries
from services.registry.fields import complete_id_number
from services.registry.stations import add_station, ensure_service_point, save_region

COUNTY_CODE = "440902"
COUNTY_NAME = "茂南区"
CITY_CODE = "440900"
CITY_NAME = "茂名市"
CONTENT_SEED = 440902
PASSWORD_LENGTH = 12
# No 0/O, 1/l/I: the logins are read off a terminal and typed into a phone.
PASSWORD_ALPHABET = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "0O1lI")


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    latitude: float
    longitude: float
    villages: tuple[Village, ...]
    workers: tuple[tuple[str, str], ...]  # (username, display name)


# Township codes follow the statistical division code scheme (county + 3 digits, towns from 100; villages
# add 3 digits, communities 0xx and villages 2xx); coordinates are WGS-84 points around the town seats.
TOWNSHIPS = (
    Township("440902100", "金塘镇", 21.7452, 110.9553, (
        Village("440902100001", "金塘社区", 21.7452, 110.9553),
        Village("440902100201", "牙象村", 21.7603, 110.9412),
        Village("440902100202", "塘尾村", 21.7351, 110.9724),
        Village("440902100203", "山美村", 21.7528, 110.9801),
        Village("440902100204", "福留村", 21.7286, 110.9478),
    ), (("jt_chenli", "陈丽"), ("jt_lianghua", "梁华"))),
    Township("440902102", "新坡镇", 21.5853, 110.8352, (
        Village("440902102001", "新坡社区", 21.5853, 110.8352),
        Village("440902102201", "塘口村", 21.5981, 110.8224),
        Village("440902102202", "龙湾村", 21.5722, 110.8461),
        Village("440902102203", "坡心村", 21.5904, 110.8583),
    ), (("xp_huangmin", "黄敏"), ("xp_linjie", "林杰"))),
    Township("440902103", "镇盛镇", 21.5351, 110.9352, (
        Village("440902103001", "镇盛社区", 21.5351, 110.9352),
        Village("440902103201", "大坡村", 21.5483, 110.9213),
        Village("440902103202", "石古村", 21.5226, 110.9487),
        Village("440902103203", "东岸村", 21.5402, 110.9556),
    ), (("zs_yangfang", "杨芳"), ("zs_wuqiang", "吴强"))),
)
SUPERVISORS = (
    ("sup_lizhen", "李珍", ("440902100", "440902102")),
    ("sup_zhangwei", "张伟", ("440902103",)),
)
ADMIN = ("admin", "茂南区民政局")
PEOPLE_PER_STATION = 20

SURNAMES = "陈李梁黄林杨吴张刘罗邓谢钟冯何庞柯莫区覃"
GIVEN_NAMES = {
    ("elderly", "male"): ("亚福", "国强", "进财", "德明", "木生", "炳坤", "亚九", "志坚", "福生", "汝成"),
    ("elderly", "female"): ("亚娣", "秀英", "桂兰", "玉珍", "亚妹", "金凤", "月娥", "凤英", "带娣", "瑞莲"),
    ("adult", "male"): ("伟强", "建华", "永明", "海生", "文斌", "志华", "家俊", "锦添"),
    ("adult", "female"): ("丽萍", "美玲", "小燕", "春梅", "艳芳", "慧敏", "少芬", "碧霞"),
    ("child", "male"): ("梓轩", "子豪", "浩然", "俊熙", "宇航", "嘉豪", "铭轩", "思源"),
    ("child", "female"): ("诗琪", "欣怡", "梓涵", "雨桐", "嘉怡", "晓彤", "可欣", "紫琳"),
}
BIRTH_YEARS = {"elderly": (1936, 1958), "adult": (1962, 1995), "child": (2009, 2019)}
# (categories, age group, possible risk tiers, a repeated tier being likelier): the mix a township's registry
# typically holds, with few people at weekly (high) risk.
PROFILES = (
    ("tekun;elderly_alone", "elderly", ("high", "key", "key")),
    ("dibao;left_behind_elderly", "elderly", ("key", "general")),
    ("elderly_alone", "elderly", ("key", "general")),
    ("tekun", "elderly", ("key",)),
    ("dibao;disabled", "adult", ("key", "general")),
    ("dibao", "adult", ("general",)),
    ("dibao_edge", "adult", ("general",)),
    ("disabled", "adult", ("key", "general")),
    ("left_behind_child", "child", ("key", "general")),
    ("orphan", "child", ("key",)),
    ("unsupported_child", "child", ("high", "key")),
    ("child_in_difficulty;dibao", "child", ("key",)),
)
STREETS = ("人民路", "建设路", "新华路", "文明路", "光华路")


@dataclass(frozen=True)
class DemoLogin:
    """One account the demo made, as written to the logins file."""

    role: str
    username: str
    password: str
    display_name: str

    def line(self) -> str:
        return f"{self.role} {self.username} {self.password} {self.display_name}"


@dataclass(frozen=True)
class DemoResult:
    """seeded: whether this run created the demo; logins: the accounts (read back from the file when not);
    visits: what the history made (None when nothing was seeded)."""

    seeded: bool
    logins: list[DemoLogin]
    visits: HistorySummary | None = None


def _database_has_accounts_or_stations() -> bool:
    return (db.session.scalar(select(User.id).limit(1)) is not None
            or db.session.scalar(select(Station.id).limit(1)) is not None)


def seed_demo(logins_path: Path, *, if_empty: bool = False) -> DemoResult:
    """Create the demo county in an empty database and write its logins to logins_path (mode 0600).

    With if_empty, a database that already has accounts or stations is left alone and the logins of an
    earlier seeding are read back from logins_path (empty when the file is absent); without it, such a
    database is refused, since the demo's codes and usernames would collide with real ones.
    """
    if _database_has_accounts_or_stations():
        if if_empty:
            return DemoResult(seeded=False, logins=read_logins(logins_path))
        raise Conflict("数据库中已有账号或社工站，演示数据只写入空数据库", code="database_not_empty")
    started_at = utcnow()
    rng = random.Random(CONTENT_SEED)
    for township in TOWNSHIPS:
        station = add_station(township.code, township.name, county_name=COUNTY_NAME,
                              latitude=township.latitude, longitude=township.longitude)
        for village in township.villages:
            ensure_service_point(station, village.name, village_code=village.code,
                                 latitude=village.latitude, longitude=village.longitude)
    # add_station derives the city from the code but cannot know its name.
    city = db.session.scalar(select(Region).where(Region.code == CITY_CODE))
    if city is not None and city.name in ("", city.code):
        save_region(city, code=city.code, name=CITY_NAME, level=city.level, parent=city.parent)
    logins = _create_accounts()
    report = import_beneficiaries(_demo_people(rng), actor=None)
    if not report.ok:
        raise RuntimeError("the demo registry is invalid: " + "; ".join(map(str, report.errors)))
    visits = write_visit_history(county_created_since=started_at)
    write_logins(logins_path, logins)
    return DemoResult(seeded=True, logins=logins, visits=visits)


def _new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def _create_accounts() -> list[DemoLogin]:
    accounts = [(Role.WORKER, username, name, [township.code])
                for township in TOWNSHIPS for username, name in township.workers]
    accounts += [(Role.SUPERVISOR, username, name, list(codes)) for username, name, codes in SUPERVISORS]
    accounts.append((Role.ADMIN, ADMIN[0], ADMIN[1], []))
    logins = []
    for role, username, display_name, station_codes in accounts:
        password = _new_password()
        create_user(username, role, password, display_name=display_name, station_codes=station_codes)
        logins.append(DemoLogin(role, username, password, display_name))
    return logins


def _demo_people(rng: random.Random) -> list[tuple[int, dict]]:
    """The demo registry as roster rows, as if read from a CSV (line 1 being the header)."""
    rows, used_names, used_numbers = [], set(), set()
    for township in TOWNSHIPS:
        # Cycling through every profile from a random start gives each township the whole mix.
        offset = rng.randrange(len(PROFILES))
        for index in range(PEOPLE_PER_STATION):
            village = township.villages[index % len(township.villages)]
            categories, age_group, tiers = PROFILES[(index + offset) % len(PROFILES)]
            gender = rng.choice(("male", "female"))
            name = _unique_name(rng, age_group, gender, used_names)
            born = _birth_date(rng, age_group)
            rows.append((len(rows) + 2, {
                "name": name,
                "id_number": _id_number(rng, born, gender, used_numbers),
                "gender": gender,
                "birth_date": born.isoformat(),
                "categories": categories,
                "station_code": township.code,
                "village": village.name,
                "address": _address(rng, township, village),
                # Within ~400 m of the village centre: homes cluster around it.
                "lat": f"{village.latitude + rng.uniform(-0.0036, 0.0036):.6f}",
                "lon": f"{village.longitude + rng.uniform(-0.0038, 0.0038):.6f}",
                "phone": "",
                "risk_tier": rng.choice(tiers),
            }))
    return rows


def _unique_name(rng: random.Random, age_group: str, gender: str, used: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES[(age_group, gender)])
        if name not in used:
            used.add(name)
            return name


def _birth_date(rng: random.Random, age_group: str) -> date:
    first, last = BIRTH_YEARS[age_group]
    start = date(first, 1, 1)
    return start + timedelta(days=rng.randrange((date(last, 12, 31) - start).days))


def _id_number(rng: random.Random, born: date, gender: str, used: set[str]) -> str:
    while True:
        # The sequence code's last digit is odd for men, even for women.
        sequence = rng.randrange(100) * 10 + rng.choice((1, 3, 5, 7, 9) if gender == "male" else (0, 2, 4, 6, 8))
        number = complete_id_number(f"{COUNTY_CODE}{born:%Y%m%d}{sequence:03d}")
        if number not in used:
            used.add(number)
            return number


def _address(rng: random.Random, township: Township, village: Village) -> str:
    if village.name.endswith("社区"):
        return f"{COUNTY_NAME}{township.name}{village.name}{rng.choice(STREETS)}{rng.randrange(1, 120)}号"
    return f"{COUNTY_NAME}{township.name}{village.name}{rng.randrange(1, 9)}队{rng.randrange(1, 60)}号"


def write_logins(path: Path, logins: list[DemoLogin]) -> None:
    """Write the logins, one `ROLE USERNAME PASSWORD DISPLAY_NAME` line each, readable by the owner only.

    The file is written beside its target with mode 0600 and renamed over it, so there is never a
    moment when passwords sit in a file others can read.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".demo_logins.")  # created 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.writelines(login.line() + "\n" for login in logins)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_logins(path: Path) -> list[DemoLogin]:
    """The logins of an earlier seeding, or [] when the file is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    logins = []
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            logins.append(DemoLogin(*parts))
    return logins
