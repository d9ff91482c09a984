"""Three months of work in the demo county: visits with photos, reviews, and a queue still to review.

Everything goes through the services a phone and a supervisor use. Each photo is a real JPEG drawn
with Pillow (a mosaic and shapes from its own seed, so perceptual hashes differ), most with EXIF capture
time and GPS like a phone's, stored by store_photo. Each check-in is submitted by submit_visit with the
moment the server received it (`received_at`): the age window (VISIT_MAX_AGE) is measured from then, as
for any phone, and nothing is loosened; every authenticity warning is computed by the real code.
Reviews go through services.review.

The only thing the services cannot do is happen in the past: they stamp registrations and review
decisions with the clock. Once the story is written, `_date_the_story` moves those stamps to when it
says they happened (the county went live before the history began; a supervisor reviewed a visit
hours after it came in). It changes timestamps only.

The plan is drawn from a seeded random generator, relative to today: every seeding tells the same story,
ending now.
"""

from __future__ import annotations

import io
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from PIL import ExifTags, Image, ImageDraw
from sqlalchemy import func, select, update

from extensions import db
from models import (
    AuditEvent,
    Beneficiary,
    Photo,
    ReviewEvent,
    ServicePoint,
    Station,
    User,
    Visit,
    utcnow,
)
from models.enums import DUTY_KINDS, BeneficiaryStatus, Role
from services.geo import to_gcj02
from services.photos.intake import store_photo
from services.reporting.schedules import category_intervals, required_interval_days
from services.visits.review import approve_visit, reject_visit, return_visit
from services.visits.submission import resubmit_visit, submit_visit

HISTORY_SEED = 20240901
HISTORY_DAYS = 91
# The county went live (stations, accounts, roster) this long before the history begins.
LAUNCH_LEAD = timedelta(days=14)
# Supervisors have not yet looked at what came in since the start of the last working day before today.
BACKLOG_WORKING_DAYS = 1
# Returned visits older than this would have been fixed by now; older bad ones were rejected outright.
RETURN_WINDOW = timedelta(days=20)
RETURNED_VISITS = 3
# People the stations have lost track of: the overdue list is never empty in real life either.
NEGLECTED_SHARE = 0.08
REJECTED_SHARE = 0.03
PHOTO_SIZE = (640, 480)
MOSAIC = (16, 12)
PHOTO_EDITOR = "MTXX 10.2.0"
PHOTO_QUALITY = 85
WORKDAY_START = time(8, 20)
LUNCH = (time(12, 0), time(14, 30))

# Phones of the six workers, in username order: (make, model, writes the EXIF time offset).
CAMERAS = (
    ("HUAWEI", "NOH-AN00", True), ("Xiaomi", "23049RAD8C", True), ("OPPO", "PFTM10", False),
    ("vivo", "V2309A", True), ("HONOR", "ANY-AN00", False), ("Redmi", "22101316C", False),
)

# The recent check-ins that should catch a supervisor's eye, each computed by the real authenticity code.
TWISTS = ("far_from_home", "photo_reused", "too_short", "poor_accuracy", "photo_far")

HOME_NOTES = {
    "elderly": (
        "老人身体尚可，血压偏高，按时服药。家中米油充足。",
        "独居，耳朵不太好，提醒其晚上锁好门窗。",
        "帮老人检查了电线和煤气，提醒雨天注意防滑。",
        "老人反映腿脚不便，已联系村医上门看看。",
        "子女在外务工，每周电话联系一次，老人情绪稳定。",
        "协助老人办理高龄津贴年审，材料已带回。",
        "送去慰问品，老人很高兴，说家里一切都好。",
    ),
    "child": (
        "孩子在校表现良好，期中考试进步明显。",
        "由奶奶照顾，生活正常，提醒注意防溺水。",
        "了解孩子学习情况，已链接爱心人士捐赠书包文具。",
        "孩子性格内向，陪伴聊天并做了简单心理疏导。",
        "与班主任电话沟通，孩子近期出勤正常。",
    ),
    "adult": (
        "家中收入主要靠低保，近期在镇上找到零工。",
        "了解康复情况，协助申请残疾人两项补贴。",
        "核实家庭收入变化，讲解低保动态管理政策。",
        "反映房屋漏雨，已报村委会安排维修。",
        "陪同到镇卫生院复查，医生建议继续服药。",
    ),
}
CALL_NOTES = {
    "elderly": (
        "电话了解近况，身体无明显不适。",
        "视频通话，老人精神不错，提醒注意天气变化、按时吃药。",
        "电话回访上次反映的问题，已解决。",
        "电话提醒下周到镇上参加免费体检。",
    ),
    "child": (
        "监护人接听，孩子近期无异常。",
        "与孩子视频聊天，说学校伙食不错。",
        "电话提醒监护人暑期注意防溺水。",
    ),
    "adult": (
        "电话了解近况，身体无明显不适。",
        "电话回访上次反映的问题，已解决。",
        "电话告知低保年审需带的材料。",
    ),
}
CASE_NOTES = (
    "协助整理临时救助申请材料，已交镇民政办。",
    "陪同到镇卫生院做康复评估，结果已告知家属。",
    "与家属商议照料安排，制定下月服务计划。",
    "链接志愿者每周上门帮忙打扫卫生。",
)
TWIST_NOTES = {
    "far_from_home": "老人在村委会办事，在村委会见面了解情况。",
    "too_short": "老人正准备出门看病，简单问候后离开，改日再访。",
    "poor_accuracy": "屋里信号差，定位一直不准。",
}
CONCERNS = {
    "basic_living": ("冰箱里没什么菜，近期买菜不便", "常用药快吃完了"),
    "safety": ("厨房电线老化", "屋顶有裂缝，下雨漏水", "煤气管老化，已提醒更换"),
    "family_support": ("子女长期未联系", "监护人外出务工，由邻居临时照看"),
    "care_received": ("行动不便，日常无人照料", "就医需要有人陪同"),
}
# (kind, note, people range, hours range or None) of the work that is not about one person.
STATION_WORK = (
    ("community_activity", "敬老爱老活动：为长者义剪、测血压，发放慰问品。", (25, 45), None),
    ("community_activity", "“四点半课堂”：组织留守儿童写作业、读绘本。", (12, 20), None),
    ("community_activity", "防诈骗宣传讲座，现场解答长者提问。", (20, 35), None),
    ("policy_outreach", "在村委会宣讲低保、特困供养政策，现场登记咨询。", (20, 40), None),
    ("hardship_assistance", "走访慰问困难家庭，送去大米、食用油，协助申请临时救助。", (3, 8), None),
    ("epidemic_response", "协助镇卫生院开展流感疫苗接种，维持秩序、登记长者信息。", (1, 1), (3, 5)),
    ("disaster_relief", "台风来临前排查危房户，协助转移独居老人到安置点。", (1, 1), (4, 7)),
)
REJECT_COMMENTS = (
    "照片与服务对象不符，请重新入户核实。",
    "走访记录内容过于简单，无法反映服务情况。",
    "同一服务对象当日重复提交，本条不予通过。",
)
RETURN_COMMENTS = (
    "请补充厨房和卧室的照片。",
    "请补充老人用药情况和血压记录。",
    "请写明已联系村医的具体时间。",
    "请补充监护人联系方式及沟通情况。",
)
APPROVE_COMMENTS = ("情况属实。", "记录完整，同意。", "照片清晰，同意。")
WARNED_APPROVE_COMMENT = "定位偏差系室内信号问题，已电话核实，同意。"


@dataclass(frozen=True)
class Person:
    """What the story needs of a registered person. Plain values, not rows: a session holding hundreds of
    rows across hundreds of commits spends its time expiring and reloading them."""

    id: int
    station_id: int
    home: tuple[float, float]
    categories: tuple[str, ...]
    risk_tier: str | None
    age_group: str


@dataclass(frozen=True)
class Worker:
    """A worker of the story; number picks their phone."""

    id: int
    station_id: int
    number: int


@dataclass(frozen=True)
class Shot:
    """How one photo was drawn, so that it can be drawn again."""

    seed: int
    taken: datetime | None
    gps: tuple[float, float] | None
    camera: tuple[str, str, bool]
    # The app that last saved it, when not the camera.
    software: str | None = None


@dataclass
class PlannedVisit:
    """One check-in of the story, filled in step by step: planned, timed, decided, submitted."""

    worker: Worker
    kind: str
    day: date
    minutes: int
    beneficiary: Person | None = None
    place: tuple[float, float] | None = None
    coworker: Worker | None = None
    notes: str = ""
    people_count: int = 1
    twist: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    received_at: datetime | None = None
    outcome: str = "approve"  # approve, reject, return or pending
    reviewed_at: datetime | None = None
    shots: list[Shot] = field(default_factory=list)
    # For the photo_reused twist: the earlier visit whose first photo is sent again.
    reused_from: PlannedVisit | None = None
    visit_id: int | None = None


@dataclass(frozen=True)
class HistorySummary:
    """How many visits the history made, by status."""

    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


class _Story:
    """The seeded plan of the county's last three months, and the moments it is told against."""

    def __init__(self, now: datetime):
        self.rng = random.Random(HISTORY_SEED)
        self.zone = ZoneInfo(current_app.config["TIMEZONE"])
        self.now = now
        self.today = now.astimezone(self.zone).date()
        self.first_day = self.today - timedelta(days=HISTORY_DAYS)
        self.launched_at = self.at(self.first_day, time(9, 0)) - LAUNCH_LEAD
        self.backlog_start = self.at(_working_days_before(self.today, BACKLOG_WORKING_DAYS), time.min)
        self.users = {user.id: user for user in db.session.scalars(select(User).where(User.role != Role.ADMIN))}
        self.workers = _workers_by_station(self.users.values())
        self.reviewers = _reviewers_by_station(self.users.values())
        self.plans: list[PlannedVisit] = []

    def at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone).astimezone(UTC)


def write_visit_history(county_created_since: datetime) -> HistorySummary:
    """Fill the demo county with three months of visits, reviews and a pending queue, ending now.

    Call it once, right after the county, its accounts and its registry were created (from
    county_created_since on): their registration is moved to before the history begins.
    """
    story = _Story(utcnow())
    _plan_person_visits(story)
    _plan_station_work(story)
    _plan_twists(story)
    _schedule(story)
    _decide(story)
    photo_times = _submit_all(story)
    _review_all(story)
    _date_the_story(story, county_created_since, photo_times)
    _resubmit_one_returned(story)
    counts = db.session.execute(select(Visit.status, func.count()).group_by(Visit.status))
    return HistorySummary(by_status={status: count for status, count in counts})


# --- who is in the story -----------------------------------------------------------------------------

def _workers_by_station(users) -> dict[int, list[Worker]]:
    workers = defaultdict(list)
    in_order = sorted((user for user in users if user.role == Role.WORKER), key=lambda user: user.username)
    for number, user in enumerate(in_order):
        workers[user.station_id].append(Worker(user.id, user.station_id, number))
    return workers


def _reviewers_by_station(users) -> dict[int, User]:
    reviewers = {}
    for supervisor in sorted((user for user in users if user.role == Role.SUPERVISOR), key=lambda user: user.username):
        for station in supervisor.supervised_stations:
            reviewers.setdefault(station.id, supervisor)
    return reviewers


def _people(today: date) -> list[Person]:
    people = []
    active = select(Beneficiary).where(Beneficiary.status == BeneficiaryStatus.ACTIVE).order_by(Beneficiary.id)
    for row in db.session.scalars(active):
        age = (today - row.birth_date).days // 365 if row.birth_date else 40
        people.append(Person(id=row.id, station_id=row.station_id, home=(row.home_latitude, row.home_longitude),
                             categories=tuple(row.categories), risk_tier=row.risk_tier,
                             age_group="elderly" if age >= 60 else "child" if age < 18 else "adult"))
    return people


def _working_days_before(day: date, count: int) -> date:
    while count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


# --- planning ----------------------------------------------------------------------------------------

def _plan_person_visits(story: _Story) -> None:
    """Visits to each registered person at about their required interval; some people are left overdue."""
    rng = story.rng
    intervals = category_intervals()
    for index, person in enumerate(_people(story.today)):
        interval = required_interval_days(list(person.categories), person.risk_tier, intervals)
        workers = story.workers[person.station_id]
        primary = workers[index % len(workers)]
        if rng.random() < NEGLECTED_SHARE:
            # Overdue: never visited (due since registration), or seen once long ago.
            if interval < HISTORY_DAYS and rng.random() < 0.6:
                _add_person_visit(story, person, primary, story.today - timedelta(days=interval + rng.randrange(8, 30)),
                                  interval)
            continue
        day = story.today - timedelta(days=rng.randrange(0, max(1, int(interval * 0.7))))
        while day >= story.first_day:
            worker = primary if rng.random() < 0.85 else rng.choice(workers)
            _add_person_visit(story, person, worker, day, interval)
            day -= timedelta(days=max(3, round(interval * rng.uniform(0.75, 0.98))))


def _add_person_visit(story: _Story, person: Person, worker: Worker, day: date, interval: int) -> None:
    rng = story.rng
    group = person.age_group
    roll = rng.random()
    # Weekly people get a call about every other week, the others now and then.
    if roll < (0.45 if interval <= 7 else 0.13):
        kind, minutes, notes = "care_call", rng.randrange(6, 20), rng.choice(CALL_NOTES[group])
    elif roll < (0.55 if interval <= 7 else 0.25):
        kind, minutes, notes = "case_service", rng.randrange(30, 75), rng.choice(CASE_NOTES)
    else:
        kind, minutes, notes = "home_visit", rng.randrange(18, 50), rng.choice(HOME_NOTES[group])
    plan = PlannedVisit(worker=worker, kind=kind, day=_weekday(story, day), minutes=minutes, beneficiary=person,
                        notes=notes, place=person.home)
    if kind == "home_visit" and person.risk_tier == "high" and rng.random() < 0.3:
        plan.coworker = next((other for other in story.workers[person.station_id] if other.id != worker.id), None)
    story.plans.append(plan)


def _weekday(story: _Story, day: date) -> date:
    """Most weekend work moves to the nearest working day not after today; some stays (a call on Sunday happens)."""
    if day.weekday() < 5 or story.rng.random() >= 0.85:
        return day
    monday = day + timedelta(days=7 - day.weekday())
    if day.weekday() == 6 and monday <= story.today:
        return monday
    return day - timedelta(days=day.weekday() - 4)


def _plan_station_work(story: _Story) -> None:
    """Activities, outreach and duty of each station, at one of its villages (or the town seat)."""
    rng = story.rng
    for station in db.session.scalars(select(Station).order_by(Station.code)):
        points = db.session.scalars(select(ServicePoint).where(ServicePoint.station_id == station.id)
                                    .order_by(ServicePoint.id)).all()
        workers = story.workers[station.id]
        for kind, notes, people, hours in STATION_WORK:
            day = _weekday(story, story.first_day + timedelta(days=rng.randrange(2, HISTORY_DAYS - 3)))
            point = rng.choice(points)
            minutes = rng.randrange(hours[0] * 60, hours[1] * 60 + 1, 15) if hours else rng.randrange(90, 150, 10)
            worker = rng.choice(workers)
            story.plans.append(PlannedVisit(
                worker=worker, kind=kind, day=day, minutes=minutes, place=(point.latitude, point.longitude),
                notes=notes, people_count=rng.randrange(people[0], people[1] + 1),
                coworker=next(other for other in workers if other.id != worker.id) if hours else None,
            ))


def _plan_twists(story: _Story) -> None:
    """Recent home visits that earn a warning, one per twist, spread over the stations and the backlog days."""
    rng = story.rng
    station_ids = sorted(story.workers)
    backlog_days = _days_between(story.backlog_start.astimezone(story.zone).date(), story.today)
    for number, twist in enumerate(TWISTS):
        station_id = station_ids[number % len(station_ids)]
        earlier = [plan for plan in story.plans if plan.kind == "home_visit" and plan.beneficiary is not None
                   and plan.beneficiary.station_id == station_id and plan.day < backlog_days[0] - timedelta(days=7)]
        source = rng.choice(earlier)
        plan = PlannedVisit(worker=source.worker, kind="home_visit", day=rng.choice(backlog_days),
                            minutes=2 if twist == "too_short" else rng.randrange(18, 40),
                            beneficiary=source.beneficiary, place=source.place,
                            notes=TWIST_NOTES.get(twist) or rng.choice(HOME_NOTES[source.beneficiary.age_group]),
                            twist=twist, outcome="pending")
        if twist == "photo_reused":
            # The worker sends a photo of the person's earlier visit again (re-compressed by the chat app).
            plan.reused_from = source
        story.plans.append(plan)
    # A couple of approved visits in the history had poor accuracy and were checked by phone.
    history = [plan for plan in story.plans if plan.kind == "home_visit" and plan.twist is None
               and plan.day < backlog_days[0] - timedelta(days=10)]
    for plan in rng.sample(history, 2):
        plan.twist = "poor_accuracy"
        plan.notes = TWIST_NOTES["poor_accuracy"]


def _days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


# --- timing and decisions ----------------------------------------------------------------------------

def _schedule(story: _Story) -> None:
    """Give each worker's day its times: from the morning on, with travel between, a lunch break.

    Today only holds what fits before now; the rest moves to the day before.
    """
    rng = story.rng
    by_worker_day = defaultdict(list)
    for plan in story.plans:
        by_worker_day[(plan.worker.id, plan.day)].append(plan)
    for worker_id in sorted({worker_id for worker_id, _day in by_worker_day}):
        days = sorted((day for owner, day in by_worker_day if owner == worker_id), reverse=True)
        for day in days:
            plans = by_worker_day[(worker_id, day)]
            latest_end = story.now - timedelta(minutes=25) if day == story.today else None
            unfitted = _schedule_day(story, rng, day, plans, latest_end)
            if unfitted:
                yesterday = day - timedelta(days=1)
                for plan in unfitted:
                    plan.day = yesterday
                if (worker_id, yesterday) not in by_worker_day:
                    days.append(yesterday)
                by_worker_day[(worker_id, yesterday)].extend(unfitted)


def _schedule_day(story: _Story, rng: random.Random, day: date, plans: list[PlannedVisit],
                  latest_end: datetime | None) -> list[PlannedVisit]:
    plans.sort(key=lambda plan: (plan.kind not in DUTY_KINDS, rng.random()))
    clock = story.at(day, WORKDAY_START) + timedelta(minutes=rng.randrange(0, 40))
    unfitted = []
    for plan in plans:
        local = clock.astimezone(story.zone).time()
        if LUNCH[0] <= local < LUNCH[1]:
            clock = story.at(day, LUNCH[1]) + timedelta(minutes=rng.randrange(0, 20))
        started_at, ended_at = clock, clock + timedelta(minutes=plan.minutes, seconds=rng.randrange(60))
        if latest_end is not None and ended_at > latest_end:
            unfitted.append(plan)
            continue
        plan.started_at, plan.ended_at = started_at, ended_at
        clock = ended_at + timedelta(minutes=rng.randrange(12, 40))
    return unfitted


def _decide(story: _Story) -> None:
    """When each check-in reached the server and what its supervisor made of it."""
    rng = story.rng
    for plan in sorted(story.plans, key=lambda plan: plan.started_at):
        delay = timedelta(minutes=rng.randrange(1, 6), seconds=rng.randrange(60))
        if rng.random() < 0.15:
            delay = timedelta(hours=rng.uniform(1, 5))  # offline in the village, synced later
        plan.received_at = min(plan.ended_at + delay, story.now - timedelta(minutes=1))
        if plan.received_at >= story.backlog_start:
            plan.outcome = "pending"
            continue
        review_delay = timedelta(hours=rng.uniform(2, 40))
        reviewed_at = plan.received_at + review_delay
        local = reviewed_at.astimezone(story.zone)
        if not 8 <= local.hour < 19:
            next_morning = local.date() + timedelta(days=1 if local.hour >= 19 else 0)
            reviewed_at = story.at(next_morning, time(9, 0)) + timedelta(minutes=rng.randrange(0, 90))
        plan.reviewed_at = min(reviewed_at, story.backlog_start - timedelta(minutes=rng.randrange(5, 120)))
        plan.reviewed_at = max(plan.reviewed_at, plan.received_at + timedelta(minutes=10))
    # Counted out rather than rolled, so that every seeding has some of each.
    reviewed = [plan for plan in story.plans if plan.outcome == "approve" and plan.twist is None]
    recent = [plan for plan in reviewed if plan.kind == "home_visit" and plan.received_at >= story.now - RETURN_WINDOW]
    for plan in rng.sample(recent, min(RETURNED_VISITS, len(recent))):
        plan.outcome = "return"
    approved = [plan for plan in reviewed if plan.outcome == "approve"]
    for plan in rng.sample(approved, max(2, round(len(approved) * REJECTED_SHARE))):
        plan.outcome = "reject"


# --- submitting --------------------------------------------------------------------------------------

def _submit_all(story: _Story) -> dict[int, datetime]:
    """Upload each plan's photos and submit its check-in, oldest first; return each photo's upload time by id."""
    rng = story.rng
    photo_times = {}
    for plan in sorted(story.plans, key=lambda plan: (plan.started_at, plan.worker.id)):
        worker = story.users[plan.worker.id]
        checkin = _checkin_point(story, plan)
        photo_ids = _upload_photos(story, plan, worker, checkin, CAMERAS[plan.worker.number % len(CAMERAS)])
        for photo_id in photo_ids:
            photo_times[photo_id] = plan.received_at - timedelta(seconds=rng.randrange(20, 90))
        # Most phones report what WeChat's location API gives by default (GCJ-02); some ask for GPS.
        body = _visit_body(story, plan, checkin, photo_ids, gcj02=plan.worker.number % 3 != 2)
        visit, _created = submit_visit(worker, body, received_at=plan.received_at)
        plan.visit_id = visit.id
    return photo_times


def _checkin_point(story: _Story, plan: PlannedVisit) -> tuple[float, float, float] | None:
    """Where the phone placed the check-in (WGS-84) and its accuracy; None for a call."""
    if plan.kind == "care_call":
        return None
    rng = story.rng
    latitude, longitude = plan.place
    if plan.twist == "far_from_home":
        return (*_offset(rng, latitude, longitude, 520, 700), rng.uniform(8, 20))
    if plan.twist == "poor_accuracy":
        return (*_offset(rng, latitude, longitude, 40, 90), rng.uniform(160, 260))
    return (*_offset(rng, latitude, longitude, 0, 35), rng.uniform(5, 30))


def _offset(rng: random.Random, latitude: float, longitude: float, nearest: float, farthest: float):
    """A point between nearest and farthest metres away from (latitude, longitude), in a random direction."""
    distance, bearing = rng.uniform(nearest, farthest), rng.uniform(0, 2 * math.pi)
    return (latitude + distance * math.cos(bearing) / 111_195,
            longitude + distance * math.sin(bearing) / (111_195 * math.cos(math.radians(latitude))))


def _photo_count(rng: random.Random, plan: PlannedVisit) -> int:
    if plan.kind == "care_call":
        return 0
    if plan.kind == "home_visit":
        return 1 if plan.twist == "photo_reused" or rng.random() < 0.85 else 2
    if plan.kind == "case_service":
        return 1 if rng.random() < 0.3 else 0
    return 2 if plan.kind == "community_activity" else 1


def _upload_photos(story: _Story, plan: PlannedVisit, worker: User, checkin, camera) -> list[int]:
    """Draw and store the plan's photos; return their ids in order."""
    rng = story.rng
    photo_ids = []
    for _position in range(_photo_count(rng, plan)):
        if plan.reused_from is not None:
            # The same picture, capture time and place included, touched up in a photo app: other bytes, same pixels.
            data = photo_bytes(replace(plan.reused_from.shots[0], software=PHOTO_EDITOR))
        else:
            gps = None
            if checkin is not None and (plan.twist == "photo_far" or rng.random() < 0.85):
                near, far = (900, 1300) if plan.twist == "photo_far" else (0, 20)
                gps = _offset(rng, checkin[0], checkin[1], near, far)
            taken = plan.started_at + timedelta(seconds=rng.randrange(30, max(60, plan.minutes * 60 - 30)))
            shot = Shot(rng.getrandbits(40), taken.astimezone(story.zone) if gps else None, gps, camera)
            plan.shots.append(shot)
            data = photo_bytes(shot)
        photo, _created = store_photo(worker, data)
        photo_ids.append(photo.id)
    return photo_ids


def _visit_body(story: _Story, plan: PlannedVisit, checkin, photo_ids: list[int], *, gcj02: bool) -> dict:
    """The check-in as the API's VisitCreateSchema would load it from the phone's JSON."""
    rng = story.rng
    person = plan.beneficiary
    location = None
    if checkin is not None:
        latitude, longitude, accuracy = checkin
        if gcj02:
            latitude, longitude = to_gcj02(latitude, longitude)
        location = {"latitude": round(latitude, 6), "longitude": round(longitude, 6),
                    "accuracy": round(accuracy, 1), "coord_type": "gcj02" if gcj02 else "wgs84"}
    findings, needs = {}, []
    if plan.kind in ("home_visit", "case_service"):
        for area, notes in CONCERNS.items():
            concern = rng.random() < 0.08
            findings[area] = {"value": "concern" if concern else "ok", "note": rng.choice(notes) if concern else ""}
        needs = rng.sample(("daily_care", "rehabilitation", "emotional_support", "home_adaptation",
                            "policy_consultation", "resource_linking"), rng.choice((0, 1, 1, 2)))
    follow_up = any(finding["value"] == "concern" for finding in findings.values())
    return {
        "client_id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "beneficiary_id": person.id if person is not None else None,
        "kind": plan.kind,
        "services": _services(rng, plan.kind),
        "domains": _domains(story, plan),
        "started_at": plan.started_at,
        "ended_at": plan.ended_at,
        "location": location,
        "notes": plan.notes,
        "photo_ids": photo_ids,
        "findings": findings,
        "needs": needs,
        "follow_up_needed": follow_up,
        "follow_up_due": plan.day + timedelta(days=7) if follow_up else None,
        "photo_consent": bool(photo_ids),
        "coworker_ids": [plan.coworker.id] if plan.coworker is not None else [],
        "people_count": plan.people_count,
        "mock_location": False,
        "client_sent_at": plan.received_at - timedelta(seconds=rng.randrange(1, 5)),
    }


def _services(rng: random.Random, kind: str) -> list[str]:
    if kind == "home_visit":
        return rng.sample(("policy_implementation", "resource_linking", "relationship_adjustment"), rng.choice((1, 2)))
    return {
        "care_call": ["relationship_adjustment"],
        "case_service": ["resource_linking", "capacity_building"],
        "community_activity": ["community_integration"],
        "policy_outreach": ["policy_implementation"],
        "hardship_assistance": ["resource_linking", "policy_implementation"],
    }.get(kind, [])


def _domains(story: _Story, plan: PlannedVisit) -> list[str]:
    person = plan.beneficiary
    if person is None:
        return ["community_governance"]
    domain = {"elderly": "elderly_care", "child": "child_welfare", "adult": "social_assistance"}[person.age_group]
    extra = ["social_assistance"] if domain != "social_assistance" and {"dibao", "tekun"} & set(person.categories) \
        else []
    return [domain, *extra]


# --- photos ------------------------------------------------------------------------------------------

def photo_bytes(shot: Shot) -> bytes:
    """A JPEG like a phone's: the scene drawn from the shot's seed, with EXIF camera, capture time and GPS.

    The shot's `taken` is the local capture time (None: no EXIF time, as after a chat app strips it).
    """
    image = _draw_scene(shot.seed)
    exif = Image.Exif()
    taken, gps = shot.taken, shot.gps
    make, model, writes_offset = shot.camera
    if make:
        exif[ExifTags.Base.Make] = make
    if model:
        exif[ExifTags.Base.Model] = model
    if shot.software:
        exif[ExifTags.Base.Software] = shot.software
    if taken is not None:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        details[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
        if writes_offset:
            details[ExifTags.Base.OffsetTimeOriginal] = taken.strftime("%z")[:3] + ":" + taken.strftime("%z")[3:]
    if gps is not None:
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        for value, reference_tag, value_tag, hemispheres in (
            (gps[0], ExifTags.GPS.GPSLatitudeRef, ExifTags.GPS.GPSLatitude, "NS"),
            (gps[1], ExifTags.GPS.GPSLongitudeRef, ExifTags.GPS.GPSLongitude, "EW"),
        ):
            magnitude = abs(value)
            gps_ifd[reference_tag] = hemispheres[1] if value < 0 else hemispheres[0]
            # Seconds stay below 60 after rounding: a reader drops a position with 60 seconds as impossible.
            gps_ifd[value_tag] = (float(int(magnitude)), float(int(magnitude * 60) % 60),
                                  min(round((magnitude * 3600) % 60, 3), 59.999))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=PHOTO_QUALITY, exif=exif)
    return buffer.getvalue()


def _draw_scene(seed: int) -> Image.Image:
    """A mosaic shaded from one colour to another, under a few walls, roofs and round things.

    The mosaic's blocks are what keep perceptual hashes apart: flat colours alone leave most of a dHash's
    bits equal between pictures, and two scenes could pass for the same photo.
    """
    rng = random.Random(seed)
    width, height = PHOTO_SIZE

    def colour():
        return rng.randrange(256), rng.randrange(256), rng.randrange(256)

    first, last = colour(), colour()
    columns, rows = MOSAIC
    blocks = Image.new("RGB", MOSAIC)
    for row in range(rows):
        share = row / (rows - 1)
        for column in range(columns):
            blocks.putpixel((column, row), tuple(
                max(0, min(255, round(a + (b - a) * share) + rng.randrange(-70, 71)))
                for a, b in zip(first, last, strict=True)))
    image = blocks.resize(PHOTO_SIZE, Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(3, 6)):
        left, top = rng.randrange(-100, width - 60), rng.randrange(-60, height - 60)
        right, bottom = left + rng.randrange(60, 300), top + rng.randrange(50, 240)
        shape = rng.choice(("wall", "roof", "round"))
        if shape == "wall":
            draw.rectangle((left, top, right, bottom), fill=colour())
        elif shape == "roof":
            draw.polygon(((left, bottom), ((left + right) // 2, top), (right, bottom)), fill=colour())
        else:
            draw.ellipse((left, top, right, bottom), fill=colour())
    return image


# --- reviewing and dating ----------------------------------------------------------------------------

def _review_all(story: _Story) -> None:
    """Each station's supervisor decides on everything received before the backlog, in the order it came in."""
    rng = story.rng
    for plan in sorted(story.plans, key=lambda plan: plan.received_at):
        if plan.outcome == "pending":
            continue
        reviewer = story.reviewers[plan.worker.station_id]
        if plan.outcome == "reject":
            reject_visit(reviewer, plan.visit_id, rng.choice(REJECT_COMMENTS))
        elif plan.outcome == "return":
            return_visit(reviewer, plan.visit_id, rng.choice(RETURN_COMMENTS))
        else:
            comment = WARNED_APPROVE_COMMENT if plan.twist else (
                rng.choice(APPROVE_COMMENTS) if rng.random() < 0.1 else None)
            approve_visit(reviewer, plan.visit_id, comment)


def _date_the_story(story: _Story, county_created_since: datetime, photo_times: dict[int, datetime]) -> None:
    """Move the services' clock stamps to when the story has things happen; timestamps only.

    The demo's own unit of work (no service changes timestamps), so it commits them itself.
    """
    launched = story.launched_at
    for model, values in ((Station, {"created_at": launched}), (ServicePoint, {"created_at": launched}),
                          (User, {"created_at": launched, "updated_at": launched}),
                          (Beneficiary, {"created_at": launched, "updated_at": launched}),
                          (AuditEvent, {"created_at": launched})):
        condition = model.created_at >= county_created_since
        if model is AuditEvent:
            condition &= AuditEvent.action != "visit_reviewed"
        db.session.execute(update(model).where(condition).values(**values)
                           .execution_options(synchronize_session=False))
    by_visit = {plan.visit_id: plan for plan in story.plans}
    reviewed = [plan for plan in story.plans if plan.outcome != "pending"]
    if reviewed:
        db.session.execute(update(Visit), [{"id": plan.visit_id, "reviewed_at": plan.reviewed_at,
                                            "updated_at": plan.reviewed_at} for plan in reviewed])
    events = db.session.execute(select(ReviewEvent.id, ReviewEvent.visit_id, ReviewEvent.action)).all()
    db.session.execute(update(ReviewEvent), [
        {"id": event_id, "created_at": by_visit[visit_id].received_at if action == "submit"
         else by_visit[visit_id].reviewed_at}
        for event_id, visit_id, action in events
    ])
    audits = db.session.execute(select(AuditEvent.id, AuditEvent.object_id)
                                .where(AuditEvent.action == "visit_reviewed")).all()
    if audits:
        db.session.execute(update(AuditEvent), [{"id": audit_id, "created_at": by_visit[visit_id].reviewed_at}
                                                for audit_id, visit_id in audits])
    if photo_times:
        db.session.execute(update(Photo), [{"id": photo_id, "created_at": moment}
                                           for photo_id, moment in photo_times.items()])
    db.session.commit()


def _resubmit_one_returned(story: _Story) -> None:
    """The worker of the latest returned home visit adds the photo asked for and sends it again, just now."""
    returned = [plan for plan in story.plans if plan.outcome == "return" and plan.kind == "home_visit"]
    if not returned:
        return
    plan = max(returned, key=lambda plan: plan.received_at)
    visit = db.session.get(Visit, plan.visit_id)
    worker = story.users[plan.worker.id]
    camera = CAMERAS[plan.worker.number % len(CAMERAS)]
    extra, _created = store_photo(worker, photo_bytes(Shot(story.rng.getrandbits(40), None, None, camera)))
    body = {
        "beneficiary_id": visit.beneficiary_id, "kind": visit.kind, "services": visit.services,
        "domains": visit.domains, "started_at": visit.started_at, "ended_at": visit.ended_at,
        "location": {"latitude": visit.sent_latitude, "longitude": visit.sent_longitude,
                     "accuracy": visit.accuracy_m, "coord_type": visit.coord_type},
        "notes": visit.notes + "（已补充照片）", "photo_ids": [photo.id for photo in visit.photos] + [extra.id],
        "findings": visit.findings, "needs": visit.needs, "follow_up_needed": visit.follow_up_needed,
        "follow_up_due": visit.follow_up_due, "photo_consent": True,
        "coworker_ids": [user.id for user in visit.coworkers], "people_count": visit.people_count,
        "mock_location": False, "client_sent_at": None,
    }
    resubmit_visit(worker, visit.id, body)
