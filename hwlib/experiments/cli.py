"""``python -m hwlib`` — data management and experiment runs.

  python -m hwlib data info [--data PATH] [--profile P]   which dataset resolves, its sizes and hash
  python -m hwlib data download [--dest DIR]              fetch NIST's archive, keep the letters files
  python -m hwlib data import gzip.zip                    the same from an archive you downloaded
  python -m hwlib data synthetic [--profile P]            generate (and cache) the synthetic default
  python -m hwlib list                                    experiments and which have records
  python -m hwlib run NAME|PREFIX|all [--profile P] [--force] [--data PATH]

Errors that hwlib raises on purpose print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hwlib.errors import HwlibError


def _data_info(args) -> None:
    from hwlib.data import class_counts, load_letters
    d = load_letters(args.data, profile=args.profile, verify=not args.no_verify)
    print(f"dataset : {d.name}{'  [SYNTHETIC]' if d.synthetic else ''}")
    print(f"slug    : {d.slug}    profile: {d.profile}")
    print(f"source  : {d.source}")
    print(f"sha256  : {d.sha256}")
    for k, s in (("train", d.train), ("dev", d.dev), ("test", d.test)):
        c = class_counts(s.y)
        print(f"{k:6s}  : {len(s):7d} images, per class {c.min()}..{c.max()}")
    for n in d.notes:
        print(f"note    : {n}")


def _data_download(args) -> None:
    from hwlib.data import emnist
    from hwlib.data import real_data_dir
    dest = Path(args.dest) if args.dest else real_data_dir()
    if args.archive:
        out = emnist.extract(Path(args.archive), dest)
    else:
        print(f"downloading {emnist.URL} (~536 MB) into {dest.parent / 'downloads'} …")
        out = emnist.download(dest)
    emnist.verify_folder(out)
    print(f"EMNIST Letters ready in {out} (all four sha256 values match). "
          "hwlib now uses it by default.")


def _data_synthetic(args) -> None:
    from hwlib.data import PROFILE_SIZES
    from hwlib.data import synthetic
    t0 = time.perf_counter()
    synthetic.make_splits(PROFILE_SIZES[args.profile or "full"], seed=args.seed)
    print(f"synthetic letters ({args.profile or 'full'}) ready in {time.perf_counter() - t0:.1f} s: "
          f"{synthetic.cache_path(PROFILE_SIZES[args.profile or 'full'], args.seed)}")


def _list(args) -> None:
    from hwlib.experiments import results
    from hwlib.data import active_profile, load_letters
    from hwlib.experiments import registry
    profile = args.profile or active_profile()
    d = load_letters(args.data, profile=profile)
    for name, exp in registry().items():
        n = len(results.load_all(name, d.slug, profile))
        print(f"{name:16s} {n:3d} recorded run(s)  {exp.help}")


def _run(args) -> None:
    from hwlib.experiments import run_experiment
    recs = run_experiment(args.name, args.profile, force=args.force, data_path=args.data)
    print(f"[hwlib] {len(recs)} complete record(s) for {args.name}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hwlib", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--data", help="dataset path (default: $HWLIB_DATA, then the cache, then synthetic)")
        sp.add_argument("--profile", choices=["full", "quick"], help="default: $HWLIB_PROFILE or full")

    d = sub.add_parser("data", help="dataset commands").add_subparsers(dest="data_cmd", required=True)
    sp = d.add_parser("info", help="show which dataset resolves")
    common(sp)
    sp.add_argument("--no-verify", action="store_true", help="skip sha256 checks of idx files")
    sp.set_defaults(fn=_data_info)
    sp = d.add_parser("download", help="download the official EMNIST letters files")
    sp.add_argument("--dest", help="target folder (default: the user cache)")
    sp.set_defaults(fn=_data_download, archive=None)
    sp = d.add_parser("import", help="extract the letters files from a gzip.zip you already have")
    sp.add_argument("archive")
    sp.add_argument("--dest", help="target folder (default: the user cache)")
    sp.set_defaults(fn=_data_download)
    sp = d.add_parser("synthetic", help="generate and cache the synthetic default")
    sp.add_argument("--profile", choices=["full", "quick"])
    sp.add_argument("--seed", type=int, default=42)
    sp.set_defaults(fn=_data_synthetic)

    sp = sub.add_parser("list", help="list experiments")
    common(sp)
    sp.set_defaults(fn=_list)
    sp = sub.add_parser("run", help="run an experiment (or a prefix like q1, or all)")
    sp.add_argument("name")
    common(sp)
    sp.add_argument("--force", action="store_true", help="redo runs that already have records")
    sp.set_defaults(fn=_run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except HwlibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are recorded; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0
