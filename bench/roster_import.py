"""Time the Excel roster import: generate a workbook of N people, then dry-run it, commit it and import it again.

    .venv/bin/python -m bench.roster_import [--rows 10000] [--database-url URL]

The workbook is the bureau's kind (a title row, Chinese header variants, two categories in one cell,
villages, phones, coordinates), written with openpyxl's write-only mode. The import is the one the
admin page and the CLI run (services.registry.roster_xlsx.import_roster): read in read-only mode, validated
row by row, upserted with batched statements. Without --database-url a fresh SQLite file in a
temporary folder is used; a given database gets its schema from the migrations and bench stations.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from flask_migrate import upgrade
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from extensions import db
from factory import MIGRATIONS_DIR, create_app
from models import Station
from services.registry.fields import complete_id_number
from services.registry.roster_xlsx import import_roster

STATIONS = 20
HEADER = ["序号", "姓名", "公民身份号码", "人员类别", "乡镇（街道）", "村(社区)", "家庭住址", "手机号", "东经", "北纬"]
CATEGORY_CELLS = ["低保", "特困", "低保、残疾人", "留守老人，独居老人", "困境儿童", "低保边缘", "特困;残疾人"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


def station_names() -> list[str]:
    return [f"基准镇{n:02d}" for n in range(1, STATIONS + 1)]


def ensure_stations() -> None:
    """The bench's township stations, added once."""
    existing = set(db.session.scalars(select(Station.name).where(Station.name.in_(station_names()))))
    for number, name in enumerate(station_names(), start=1):
        if name not in existing:
            db.session.add(Station(code=f"BENCH{number:03d}", name=name, latitude=21.6, longitude=110.9))
    db.session.commit()


def roster_workbook(rows: int, seed: int = 7) -> bytes:
    """A roster of `rows` people with distinct valid ID numbers, written by openpyxl's write-only mode."""
    rng = random.Random(seed)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.append(["基准县困难群众花名册"])
    sheet.append([])
    sheet.append(HEADER)
    names = station_names()
    for number in range(1, rows + 1):
        born = date(1930, 1, 1) + timedelta(days=number)
        id_number = complete_id_number(f"440902{born:%Y%m%d}{number % 1000:03d}")
        sheet.append([
            number, rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), id_number,
            rng.choice(CATEGORY_CELLS), rng.choice(names), f"第{rng.randrange(1, 11)}村", f"{rng.randrange(1, 300)}号",
            f"13{rng.randrange(100_000_000, 999_999_999)}", round(110.9 + rng.random() / 10, 6),
            round(21.6 + rng.random() / 10, 6),
        ])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def timed(label: str, action, baseline: float | None = None):
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    ratio = f"   {seconds / baseline:5.1f}x baseline" if baseline else ""
    print(f"{label:<34} {seconds:7.2f} s{ratio}")
    return result, seconds


def read_every_cell(raw: bytes) -> int:
    """The baseline: openpyxl's read-only pass over every cell, the least any XLSX import costs."""
    workbook = load_workbook(io.BytesIO(raw), read_only=True)
    cells = sum(len(row) for row in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(Path(folder) / "uploads")})
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
            ensure_stations()
            raw, _ = timed(f"generate {args.rows:,} rows (write-only)", lambda: roster_workbook(args.rows))
            print(f"{'workbook size':<34} {len(raw) / 1024:7.0f} KiB   database: {db.engine.dialect.name}")
            _, baseline = timed("baseline: openpyxl reads every cell", lambda: read_every_cell(raw))
            for label, dry_run in (("dry run", True), ("commit", False), ("re-import (all unchanged)", False)):
                report, _ = timed(label, lambda dry_run=dry_run: import_roster(raw, dry_run=dry_run), baseline)
                if not report.ok:
                    print(f"refused: {len(report.errors)} problems, first: {report.errors[0]}")
                    return 1
                print(f"{'':<34} created {report.created}, updated {report.updated}, unchanged {report.unchanged}")
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
