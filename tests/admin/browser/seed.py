"""The browser tests' county: one station, two workers, a supervisor, and a review queue with every case.

Written through tests/factories and the real services (photo pipeline, submission with its warnings,
review), so the records carry the warnings a real submission earns.
"""

from __future__ import annotations

import io
import random
from datetime import timedelta

from PIL import Image, ImageDraw

from models import utcnow
from services.photos.intake import store_photo
from services.visits.inputs import LocationInput
from services.visits.review import approve_visit, return_visit
from services.visits.submission import resubmit_visit
from tests.factories import (
    make_beneficiary,
    make_service_point,
    make_station,
    make_supervisor,
    make_visit,
    make_worker,
    visit_body,
)

SUPERVISOR_USERNAME = "sup_zhaoyan"
HOME = (21.6650, 110.9280)
PEOPLE = ("王芳", "陈桂兰", "李秀英", "张小明", "黄伯", "林阿婆", "吴大爷", "梁婆婆", "周奶奶")


def doorway_photo(seed: int, *, quality: int = 90, size=(960, 720)) -> bytes:
    """A drawn doorway (sky, wall, door, window), its colours and layout varied by the seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(120, 200), rng.randrange(170, 220), 235))
    draw = ImageDraw.Draw(image)
    width, height = size
    wall = (rng.randrange(150, 230), rng.randrange(120, 200), rng.randrange(90, 160))
    draw.rectangle((0, height // 3, width, height), fill=wall)
    door_left = rng.randrange(width // 8, width // 2)
    draw.rectangle((door_left, height // 2, door_left + width // 6, height), fill=(90, 50, 30))
    window_left = rng.randrange(width // 2 + 40, width - width // 5)
    draw.rectangle((window_left, height // 2, window_left + width // 7, height // 2 + height // 7),
                   fill=(200, 230, 250), outline=(60, 60, 60), width=6)
    draw.polygon([(0, height // 3), (width // 2, rng.randrange(20, height // 5)), (width, height // 3)],
                 fill=(rng.randrange(100, 160), 40, 30))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _photo(worker, seed: int, **options):
    photo, _ = store_photo(worker, doorway_photo(seed, **options))
    return photo


def seed_review_scene() -> dict:
    """Seed the scene; return the ids the tests look for."""
    station = make_station(name="金塘镇社工站")
    village = make_service_point(station, name="牙象村")
    li_wei = make_worker(station, display_name="李伟", username="liwei")
    chen_jing = make_worker(station, display_name="陈静", username="chenjing")
    supervisor = make_supervisor(station, display_name="赵燕", username=SUPERVISOR_USERNAME)
    people = [make_beneficiary(station, name=name, service_point=village, address=f"牙象村{index + 1}队",
                               home_latitude=HOME[0] + index * 0.002, home_longitude=HOME[1])
              for index, name in enumerate(PEOPLE)]
    now = utcnow()

    def at_home(person, accuracy=12.0):
        return LocationInput(latitude=person.home_latitude, longitude=person.home_longitude, accuracy=accuracy,
                             coord_type="wgs84")

    # A month ago 陈静 photographed 王芳's doorway; the record was approved.
    earlier = make_visit(chen_jing, people[0], started_at=now - timedelta(days=30), location=at_home(people[0]),
                         photo_ids=[_photo(chen_jing, 7, quality=92).id],
                         received_at=now - timedelta(days=30, minutes=-40))
    approve_visit(supervisor, earlier.id)

    # 李伟 sends the same doorway again, re-saved at a lower quality, 10 km from the registered address.
    far_and_reused = make_visit(
        li_wei, people[1], started_at=now - timedelta(hours=3),
        location=LocationInput(latitude=people[1].home_latitude + 0.09, longitude=people[1].home_longitude,
                               accuracy=35.0, coord_type="wgs84"),
        photo_ids=[_photo(li_wei, 7, quality=55).id, _photo(li_wei, 21).id], notes="老人外出，门口拍照",
        received_at=now - timedelta(hours=2, minutes=30))
    # A 2-minute home visit: a notice.
    short = make_visit(li_wei, people[2], started_at=now - timedelta(hours=5),
                       ended_at=now - timedelta(hours=4, minutes=58), location=at_home(people[2]),
                       photo_ids=[_photo(li_wei, 31).id], received_at=now - timedelta(hours=4))
    # Returned for a kitchen photo, then resubmitted with it and a reply.
    returned = make_visit(chen_jing, people[3], started_at=now - timedelta(days=1), location=at_home(people[3]),
                          photo_ids=[_photo(chen_jing, 41).id], notes="屋顶漏水",
                          received_at=now - timedelta(days=1, minutes=-40))
    return_visit(supervisor, returned.id, "请补拍厨房照片")
    body = visit_body(chen_jing, people[3], started_at=returned.started_at, location=at_home(people[3]),
                      photo_ids=[_photo(chen_jing, 42).id, _photo(chen_jing, 43).id],
                      notes="屋顶漏水，已联系村委维修；厨房照片已补拍")
    resubmit_visit(chen_jing, returned.id, body, reply="已补拍厨房照片")
    # Checked in 5 km from 周奶奶's registered address, with an honest photo: one serious warning.
    far = make_visit(chen_jing, people[8], started_at=now - timedelta(hours=7),
                     location=LocationInput(latitude=people[8].home_latitude + 0.045,
                                            longitude=people[8].home_longitude, accuracy=15.0, coord_type="wgs84"),
                     photo_ids=[_photo(chen_jing, 51).id], received_at=now - timedelta(hours=6, minutes=30))
    # Clean records for bulk approval.
    clean = [make_visit(worker, person, started_at=now - timedelta(hours=8 + index), location=at_home(person),
                        photo_ids=[_photo(worker, 100 + index).id], received_at=now - timedelta(hours=6 + index))
             for index, (worker, person) in enumerate([(li_wei, people[4]), (chen_jing, people[5]),
                                                       (li_wei, people[6]), (chen_jing, people[7])])]
    return {
        "supervisor": SUPERVISOR_USERNAME,
        "far_and_reused": far_and_reused.id,
        "earlier": earlier.id,
        "short": short.id,
        "far": far.id,
        "resubmitted": returned.id,
        "clean": [visit.id for visit in clean],
        "warning_codes": {far_and_reused.id: sorted(warning.code for warning in far_and_reused.warnings),
                          short.id: sorted(warning.code for warning in short.warnings),
                          far.id: sorted(warning.code for warning in far.warnings)},
    }
