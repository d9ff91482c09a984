"""The re-use check on a corpus of re-used photos (lightly cropped, re-saved) and honest repeat photographs.

Recall: the share of re-used pairs warned. False warnings: honest pairs warned. The figures are printed
(pytest -s) and quoted in the README; the bars below fail if the check regresses.
"""

from __future__ import annotations

import hashlib
from functools import cache

import pytest

from config import Config
from services.photos.pipeline import PhotoLimits, process_photo_bytes
from services.photos.similarity import reuse_match
from tests.services.photos.similarity_corpus import Pair, generated_pairs, real_pairs

LIMITS = PhotoLimits.from_config({name: getattr(Config, name) for name in dir(Config) if name.isupper()})


@cache
def _processed(digest: str, data: bytes):
    return process_photo_bytes(data, LIMITS)


def _photo(data: bytes):
    return _processed(hashlib.sha256(data).hexdigest(), data)


def _judge(pair: Pair, *, indexed_distance: int = 3, verify: bool = True) -> str | None:
    first, second = _photo(pair.first), _photo(pair.second)
    if not verify:  # the check before this change: the banded index alone
        from services.photos.pipeline import phash_distance

        return "phash" if phash_distance(first.phash, second.phash) <= indexed_distance else None
    return reuse_match(first.phash, first.thumb_jpeg, second.phash, second.thumb_jpeg,
                       indexed_distance=indexed_distance)


def _figures(pairs: list[Pair], **judging) -> tuple[float, int, int, list[str]]:
    reused = [pair for pair in pairs if pair.kind == "reused"]
    honest = [pair for pair in pairs if pair.kind == "honest"]
    caught = [pair for pair in reused if _judge(pair, **judging)]
    false_warnings = [pair.how for pair in honest if _judge(pair, **judging)]
    missed = [pair.how for pair in reused if pair not in caught]
    return len(caught) / len(reused), len(false_warnings), len(honest), missed + false_warnings


def _report(name: str, pairs: list[Pair]) -> tuple[float, int]:
    before, before_false, honest, _ = _figures(pairs, verify=False)
    recall, false_warnings, honest, problems = _figures(pairs)
    print(f"\n{name}: {sum(p.kind == 'reused' for p in pairs)} re-used pairs, {honest} honest pairs; "
          f"banded index alone: recall {before:.0%}, false warnings {before_false}; "
          f"with verified near matches: recall {recall:.0%}, false warnings {false_warnings}; {problems}")
    return recall, false_warnings


def test_generated_corpus_catches_cropped_copies_without_warning_honest_repeats():
    pairs = generated_pairs()
    before, _, _, _ = _figures(pairs, verify=False)
    recall, false_warnings = _report("generated corpus", pairs)
    assert recall == 1.0 and false_warnings == 0
    assert before < 0.8  # the banded index alone misses many of them: this corpus tests the new stage


def test_real_photo_corpus_catches_cropped_copies_without_warning_honest_repeats(shared_photos):
    pairs = real_pairs(shared_photos)
    if len(pairs) < 50:
        pytest.skip(f"{shared_photos} lacks the photos of the corpus")
    recall, false_warnings = _report("real photo corpus", pairs)
    assert recall >= 0.95 and false_warnings == 0
