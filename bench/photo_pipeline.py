"""Time the photo pipeline against a bare Pillow decode of the same file, in the same run.

    python -m bench.photo_pipeline [PATH] [--repeat N]

The pipeline is services.photos.process_photo_bytes, the processing part of store_photo (sha256,
identify, pixel check, one decode in JPEG draft mode, EXIF, orientation, display copy, thumbnail,
dHash, two JPEG encodes); storage and the database are left out. The baseline is
Image.open(path).load() at full size. Both report the median of N runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from config import Config
from services.photos.pipeline import PhotoLimits, process_photo_bytes

DEFAULT_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "photos" / "phone" / "12mp_4032x3024.jpg"


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of action over repeat runs, after one warm-up run."""
    action()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def bare_decode(path: Path) -> None:
    """What any photo upload costs at the least: decoding every pixel once."""
    with Image.open(path) as image:
        image.load()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    data = args.path.read_bytes()
    limits = PhotoLimits.from_config(vars(Config))
    processed = process_photo_bytes(data, limits)

    decode = median_seconds(lambda: bare_decode(args.path), args.repeat)
    pipeline = median_seconds(lambda: process_photo_bytes(data, limits), args.repeat)

    with Image.open(args.path) as image:
        print(f"photo:    {args.path} ({image.format}, {image.width}x{image.height}, {len(data):,} bytes)")
    print(f"decoded:  {processed.decoded_size[0]}x{processed.decoded_size[1]} by the pipeline "
          f"(display {len(processed.display_jpeg):,} B, thumb {len(processed.thumb_jpeg):,} B)")
    print(f"bare Pillow decode (Image.open().load()): median {decode * 1000:8.1f} ms over {args.repeat} runs")
    print(f"photo pipeline (process_photo_bytes):     median {pipeline * 1000:8.1f} ms over {args.repeat} runs")
    print(f"ratio pipeline / bare decode: {pipeline / decode:.2f}")


if __name__ == "__main__":
    main()
