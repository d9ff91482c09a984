"""A corpus of photo pairs for the re-use check: re-used photos (lightly cropped, re-saved) and honest repeats.

Re-used: the same picture again, cropped by 2–6 % (unevenly), re-saved as JPEG at quality 50–70, sometimes
shrunk as WeChat does. Honest: a new photograph of the same place — the same street minutes later (the real
DSCN series), the same doorway a month later from a step aside (another framing, a slight turn, other light
and sensor noise), or the same room with things moved. Built from real photos when ../shared is present,
and from drawn scenes always.
"""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

# Real photos of distinct scenes (the orientation/format copies of one scene are left out: they are one photo).
REAL_SCENES = ("gps/DSCN0010.jpg", "gps/DSCN0012.jpg", "gps/DSCN0021.jpg", "gps/DSCN0025.jpg", "gps/DSCN0027.jpg",
               "gps/DSCN0029.jpg", "gps/DSCN0038.jpg", "gps/DSCN0040.jpg", "gps/DSCN0042.jpg",
               "orientation/landscape_1.jpg", "orientation/portrait_1.jpg", "orientation/canon_orientation6.jpg",
               "formats/no_exif.jpg", "phone/12mp_4032x3024.jpg", "phone/iphone6_gps.jpg", "phone/nokia83_gps.jpg")
# The DSCN series: one street photographed again and again within half an hour.
SAME_STREET = [name for name in REAL_SCENES if name.startswith("gps/DSCN")]


@dataclass(frozen=True)
class Pair:
    kind: str  # "reused" or "honest"
    how: str
    first: bytes
    second: bytes


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _open(data: bytes | Path) -> Image.Image:
    image = Image.open(data if isinstance(data, Path) else io.BytesIO(data))
    image = ImageOps.exif_transpose(image).convert("RGB")
    image.thumbnail((1600, 1600))
    return image


def light_crop(image: Image.Image, fraction: float, rng: random.Random) -> Image.Image:
    """Remove about `fraction` of each side's length, unevenly between the two edges."""
    width, height = image.size
    cut_x, cut_y = round(width * fraction * rng.uniform(0.6, 1.0)), round(height * fraction * rng.uniform(0.6, 1.0))
    left, top = rng.randint(0, cut_x), rng.randint(0, cut_y)
    return image.crop((left, top, width - (cut_x - left), height - (cut_y - top)))


def reused_variants(image: Image.Image, rng: random.Random) -> Iterator[tuple[str, Image.Image, int]]:
    for fraction in (0.02, 0.04, 0.06):
        yield f"crop {fraction:.0%}", light_crop(image, fraction, rng), rng.choice((50, 60, 70))
    shrunk = light_crop(image, 0.03, rng)
    shrunk.thumbnail((1080, 1080))
    yield "crop 3% + WeChat-size", shrunk, 60


def honest_repeat(image: Image.Image, rng: random.Random) -> tuple[Image.Image, Image.Image]:
    """Two photographs of one place from a step apart: other framing, a slight turn, other light and noise."""
    width, height = image.size
    keep = rng.uniform(0.80, 0.88)
    crop_width, crop_height = round(width * keep), round(height * keep)

    def shot(turn: float, light: float) -> Image.Image:
        left, top = rng.randint(0, width - crop_width), rng.randint(0, height - crop_height)
        view = image.rotate(turn, resample=Image.Resampling.BICUBIC)
        view = view.crop((left, top, left + crop_width, top + crop_height))
        view = ImageEnhance.Brightness(view).enhance(light)
        noise = Image.effect_noise(view.size, 18).convert("RGB")
        return Image.blend(view, noise, 0.06).filter(ImageFilter.SMOOTH)

    first = shot(0.0, 1.0)
    second = shot(rng.choice((-1, 1)) * rng.uniform(1.5, 4.0), rng.uniform(0.8, 1.2))
    return first, second


def drawn_scene(seed: int, *, moved: bool = False, size=(960, 720)) -> Image.Image:
    """A doorway drawn from the seed; `moved` repaints what changes in a month (a chair, laundry, the light)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(120, 200), rng.randrange(170, 220), 235))
    draw = ImageDraw.Draw(image)
    width, height = size
    wall = (rng.randrange(150, 230), rng.randrange(120, 200), rng.randrange(90, 160))
    draw.rectangle((0, height // 3, width, height), fill=wall)
    for _ in range(40):  # bricks and stains: texture for the hash
        x, y = rng.randrange(width), rng.randrange(height // 3, height)
        shade = tuple(max(0, channel - rng.randrange(10, 40)) for channel in wall)
        draw.rectangle((x, y, x + rng.randrange(20, 80), y + rng.randrange(8, 30)), fill=shade)
    door_left = rng.randrange(width // 8, width // 2)
    draw.rectangle((door_left, height // 2, door_left + width // 6, height), fill=(90, 50, 30))
    window_left = rng.randrange(width // 2 + 40, width - width // 5)
    draw.rectangle((window_left, height // 2, window_left + width // 7, height // 2 + height // 7),
                   fill=(200, 230, 250), outline=(60, 60, 60), width=6)
    draw.polygon([(0, height // 3), (width // 2, rng.randrange(20, height // 5)), (width, height // 3)],
                 fill=(rng.randrange(100, 160), 40, 30))
    if moved:
        later = random.Random(seed * 7919 + 1)
        x = later.randrange(width - 200)
        draw.rectangle((x, height - 160, x + 120, height - 40), fill=(later.randrange(256), 80, 40))
        draw.line((0, height // 2 - 40, width, height // 2 - 30), fill=(240, 240, 240), width=5)
        image = ImageEnhance.Brightness(image).enhance(later.uniform(0.8, 1.15))
    return image


def pairs_from(images: dict[str, Image.Image], same_place_groups: list[list[str]], seed: int = 11) -> list[Pair]:
    rng = random.Random(seed)
    pairs = []
    for name, image in images.items():
        original = _jpeg(image, 92)
        for how, variant, quality in reused_variants(image, rng):
            pairs.append(Pair("reused", f"{name}: {how}, q{quality}", original, _jpeg(variant, quality)))
        first, second = honest_repeat(image, rng)
        pairs.append(Pair("honest", f"{name}: the same place from a step aside", _jpeg(first, 90), _jpeg(second, 85)))
    for group in same_place_groups:
        for first, second in itertools.combinations(group, 2):
            pairs.append(Pair("honest", f"{first} / {second}: the same place, another photo",
                              _jpeg(images[first], 90), _jpeg(images[second], 90)))
    return pairs


def real_pairs(root: Path) -> list[Pair]:
    images = {name: _open(root / name) for name in REAL_SCENES if (root / name).exists()}
    return pairs_from(images, [[name for name in SAME_STREET if name in images]])


def generated_pairs(count: int = 10) -> list[Pair]:
    images = {f"drawn {seed}": drawn_scene(seed) for seed in range(1, count + 1)}
    pairs = pairs_from(images, [])
    rng = random.Random(count)
    for seed in range(1, count + 1):  # the same doorway a month later: things moved, other light, another stance
        before, _ = honest_repeat(drawn_scene(seed), rng)
        _, after = honest_repeat(drawn_scene(seed, moved=True), rng)
        pairs.append(Pair("honest", f"drawn {seed}: a month later", _jpeg(before, 90), _jpeg(after, 85)))
    return pairs
