"""How large a dataset file can be, and how much memory there is to load one.

Archive members and gzip streams are checked against these bounds from their declared sizes before
they are read, so a decompression bomb costs neither memory nor disk. The bounds are generous
multiples of EMNIST Letters (124,800 train + 20,800 test images of 28×28; Cohen et al., 2017):
an idx file announces at most twice the official training set; an npz (the course's is ~114 MB as
uint8) holds at most 64 arrays of at most 1 GiB each, 2 GiB together.
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
MEMORY_FACTOR = 3   # the decoded arrays, their upright or uint8 copies, the splits


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
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None  # unreadable, or "max": no limit


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
    """A DataError naming ``what`` when ``decoded_bytes`` × MEMORY_FACTOR exceeds the memory available now."""
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
