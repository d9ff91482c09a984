"""Is this photo a re-used one: the same picture again, perhaps lightly cropped and re-saved?

Two stages, so the check stays cheap and does not cry wolf:

1. The 64-bit difference hash (services.photos.pipeline.difference_hash) finds candidates. A crop of a
   few percent moves the hash's 9×8 grid, so a re-used photo can be 10+ bits away; an honest photo of
   the same doorway a month later can be just as close. The hash alone cannot tell the two apart.
2. Each close candidate is verified on the thumbnails: the new photo is searched for inside the old one
   (and the other way round) over a range of crops and offsets, brightness and contrast normalised. A
   re-used photo is the same pixels: once aligned, almost nothing differs. A new photograph of the same
   scene differs everywhere a little (viewpoint, light, noise, things moved).

The thresholds were set on the corpus of tests/services/photos/test_similarity.py (real photos of
../shared/testdata/photos and generated ones); its figures are in the README.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageOps, ImageStat

from services.photos.pipeline import phash_distance

# Hash distance up to which a candidate is looked at more closely (crops of up to 6 % reach 15).
NEAR_HASH_DISTANCE = 16
# Both thumbnails are searched at this long edge (1 px ≈ 1 % of the picture), compared at COMPARE_SIZE.
WORKING_LONG_EDGE = 96
COMPARE_SIZE = (48, 36)
# Share of each side a crop may have removed (coarse steps first, then refined around the best).
COARSE_FRACTIONS = (1.0, 0.96, 0.92, 0.88)
COARSE_OFFSETS = 3
# Mean absolute difference (0–255, contrast-normalised) of the best alignment up to which two photos
# are the same picture; set on the corpus: re-used pairs reach 7.4, honest ones start at 9.0.
SAME_PICTURE_MAX_DIFFERENCE = 8.0


@dataclass(frozen=True)
class Alignment:
    """The best match of one image inside another: how much differs, and the window that gave it."""

    difference: float
    window: tuple[int, int, int, int]


def _grey(thumb: bytes | Image.Image) -> Image.Image:
    image = thumb if isinstance(thumb, Image.Image) else Image.open(io.BytesIO(thumb))
    image = ImageOps.grayscale(image.convert("RGB"))
    image.thumbnail((WORKING_LONG_EDGE, WORKING_LONG_EDGE), Image.Resampling.BILINEAR)
    # Brightness and contrast edits (or another exposure of the same file) must not hide a re-use.
    return ImageOps.autocontrast(image, cutoff=1)


def _score(target: Image.Image, large: Image.Image, window: tuple[int, int, int, int]) -> float:
    candidate = large.resize(COMPARE_SIZE, Image.Resampling.BILINEAR, box=window)
    return ImageStat.Stat(ImageChops.difference(target, candidate)).mean[0]


def _coarse_windows(size: tuple[int, int]):
    width, height = size
    for fraction_x in COARSE_FRACTIONS:
        for fraction_y in COARSE_FRACTIONS:
            crop_width, crop_height = round(width * fraction_x), round(height * fraction_y)
            steps_x = 1 if crop_width == width else COARSE_OFFSETS
            steps_y = 1 if crop_height == height else COARSE_OFFSETS
            for step_x in range(steps_x):
                left = round((width - crop_width) * step_x / max(1, steps_x - 1))
                for step_y in range(steps_y):
                    top = round((height - crop_height) * step_y / max(1, steps_y - 1))
                    yield left, top, left + crop_width, top + crop_height


def _refined_windows(size: tuple[int, int], window: tuple[int, int, int, int]):
    width, height = size
    left, top, right, bottom = window
    for grow_x in (-3, 0, 3):
        for grow_y in (-3, 0, 3):
            crop_width = min(width, max(8, right - left + grow_x))
            crop_height = min(height, max(8, bottom - top + grow_y))
            for move_x in (-3, -1, 0, 1, 3):
                new_left = min(max(0, left + move_x), width - crop_width)
                for move_y in (-3, -1, 0, 1, 3):
                    new_top = min(max(0, top + move_y), height - crop_height)
                    yield new_left, new_top, new_left + crop_width, new_top + crop_height


def _best_inside(small: Image.Image, large: Image.Image) -> Alignment:
    """How well `small` matches some window of `large` (each side 86–100 %, anywhere): coarse, then refined."""
    target = small.resize(COMPARE_SIZE, Image.Resampling.BILINEAR)
    best = min((Alignment(_score(target, large, window), window) for window in _coarse_windows(large.size)),
               key=lambda item: item.difference)
    refined = min((Alignment(_score(target, large, window), window)
                   for window in set(_refined_windows(large.size, best.window))),
                  key=lambda item: item.difference)
    return refined if refined.difference < best.difference else best


def alignment(first_thumb: bytes | Image.Image, second_thumb: bytes | Image.Image) -> Alignment:
    """The best alignment of either image inside the other."""
    first, second = _grey(first_thumb), _grey(second_thumb)
    one_way, other_way = _best_inside(first, second), _best_inside(second, first)
    return one_way if one_way.difference <= other_way.difference else other_way


def same_picture(first_thumb: bytes | Image.Image, second_thumb: bytes | Image.Image) -> bool:
    """Whether two thumbnails show the same picture (one possibly cropped by a few percent and re-saved)."""
    return alignment(first_thumb, second_thumb).difference <= SAME_PICTURE_MAX_DIFFERENCE


def hash_is_near(first_phash: str | None, second_phash: str | None) -> bool:
    """Whether two difference hashes are close enough to look at the pictures."""
    if not first_phash or not second_phash:
        return False
    return phash_distance(first_phash, second_phash) <= NEAR_HASH_DISTANCE


def reuse_match(first_phash: str | None, first_thumb: bytes, second_phash: str | None, second_thumb: bytes,
                *, indexed_distance: int = 3) -> str | None:
    """How the re-use check of services.visits.authenticity judges a pair of photos.

    "phash" when the hashes are within the banded index's distance (found for anyone's photos), "cropped"
    when they are near and the pictures are verified the same, None for two different photographs.
    """
    if not first_phash or not second_phash:
        return None
    distance = phash_distance(first_phash, second_phash)
    if distance <= indexed_distance:
        return "phash"
    if distance <= NEAR_HASH_DISTANCE and same_picture(first_thumb, second_thumb):
        return "cropped"
    return None
