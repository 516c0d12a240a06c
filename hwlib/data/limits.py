"""How large a dataset file can be, and how much memory there is to load one.

Every archive member (zip, npz) and every gzip stream is checked against these bounds from its
declared size *before* it is read, and while it is read (a stream that yields more than it declared
is cut off and reported), so a decompression bomb costs neither memory nor disk. The bounds are
generous multiples of what EMNIST Letters holds (Cohen et al., 2017):

* the official idx files: 124,800 training and 20,800 test images of 28×28 pixels; an images file is a
  16-byte header + N·784 bytes (97,843,216 bytes for the train set), a labels file 8 + N bytes.
  An idx file may announce at most ``MAX_IDX_ITEMS`` = 249,600 images or labels (twice the official
  training set), i.e. at most 195.7 MB decompressed; its ``.gz`` at most that + 1 % + 1 MiB.
* an npz (the course's ``emnist-letters.npz``, at most a few hundred MB uncompressed — its
  104,000 + 20,800 + 20,800 images are 114 MB as uint8, 0.9 GB even as float64): at most
  ``MAX_NPZ_MEMBERS`` = 64 arrays, each at most ``MAX_NPZ_ARRAY_BYTES`` = 1 GiB, together at most
  ``MAX_NPZ_BYTES`` = 2 GiB uncompressed.

A file within the bounds may still be too large for the memory at hand: before decoding, the loader
asks :func:`check_memory` for ``MEMORY_FACTOR`` × the decoded bytes (the arrays, their upright or
uint8 copies, the splits) and stops with a DataError when the machine (or its cgroup) has less free.
"""
from __future__ import annotations

from pathlib import Path

from hwlib.errors import DataError

OFFICIAL_TRAIN, OFFICIAL_TEST = 124_800, 20_800   # EMNIST Letters images per official split
IMAGE_BYTES = 28 * 28
IDX_HEADER = {"images": 16, "labels": 8}
MAX_IDX_ITEMS = 2 * OFFICIAL_TRAIN                  # images (or labels) one idx file may announce
MAX_NPZ_MEMBERS = 64
MAX_NPZ_ARRAY_BYTES = 1 << 30
MAX_NPZ_BYTES = 2 << 30
MEMORY_FACTOR = 3


def max_idx_bytes(kind: str) -> int:
    """Largest decompressed idx file of ``kind`` ("images" or "labels")."""
    return IDX_HEADER[kind] + MAX_IDX_ITEMS * (IMAGE_BYTES if kind == "images" else 1)


def max_gz_bytes(kind: str) -> int:
    """Largest ``.gz`` of an idx file of ``kind`` as stored (gzip never grows data by more than a
    few bytes per 16 kB block)."""
    raw = max_idx_bytes(kind)
    return raw + raw // 100 + (1 << 20)


def idx_kind(fname: str) -> str:
    return "labels" if "labels" in fname else "images"


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except (OSError, ValueError):
        return None
    try:
        return int(text)
    except ValueError:
        return None  # "max": no limit


def available_memory() -> int | None:
    """Bytes that can still be allocated: MemAvailable of /proc/meminfo, or less when this process's
    cgroup (v2 or v1) allows less; None where neither can be read."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, used = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and used is not None and limit < (1 << 60):
            room = max(0, limit - used)
            avail = room if avail is None else min(avail, room)
            break
    return avail


def mib(n: int) -> str:
    """Bytes for people: MiB, or KiB below one MiB."""
    return f"{n / (1 << 20):,.0f} MiB" if n >= 1 << 20 else f"{n / 1024:,.0f} KiB"


def check_memory(decoded_bytes: int, what: str) -> None:
    """A DataError naming ``what`` when decoding ``decoded_bytes`` (× MEMORY_FACTOR for the copies
    the loader makes) would not fit in the memory available now."""
    need = int(decoded_bytes) * MEMORY_FACTOR
    avail = available_memory()
    if avail is not None and need > avail:
        raise DataError(f"{what}: loading it needs about {mib(need)} of memory but only {mib(avail)} are "
                        "available; free memory (close other programs) or use a machine with more — hwlib "
                        "holds the whole dataset in memory")


def out_of_memory(what: str, e: BaseException) -> DataError:
    """The DataError for a MemoryError raised while loading ``what``."""
    return DataError(f"{what}: ran out of memory while loading it ({type(e).__name__}{f': {e}' if str(e) else ''}); "
                     "free memory (close other programs) or use a machine with more — hwlib holds the whole "
                     "dataset in memory")


__all__ = ["IDX_HEADER", "MAX_IDX_ITEMS", "MAX_NPZ_ARRAY_BYTES", "MAX_NPZ_BYTES", "MAX_NPZ_MEMBERS",
           "MEMORY_FACTOR", "OFFICIAL_TEST", "OFFICIAL_TRAIN", "available_memory", "check_memory",
           "max_gz_bytes", "max_idx_bytes", "out_of_memory"]
