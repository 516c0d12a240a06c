"""``python -m hwlib`` — data management and experiment runs.

  python -m hwlib data info|download|import gzip.zip|synthetic|fonts   the dataset (see --help)
  python -m hwlib list                                                 experiments and their records
  python -m hwlib run NAME|PREFIX|all [--profile P] [--force] [--data PATH]

Errors hwlib raises on purpose, and OS errors on a path, print one line and exit with status 2; an
interruption prints what it cut short and exits with 130 (SIGINT) or 143 (SIGTERM).
"""
from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path

from hwlib.errors import _PENDING, DataError, HwlibError, Terminated, activity, interrupted, interruption_line
from hwlib.paths import shown, special_kind


def _data_info(args) -> None:
    from hwlib.data import class_counts, load_letters
    d = load_letters(args.data, profile=args.profile, verify=not args.no_verify, label_base=args.label_base)
    print(f"dataset : {d.name}{'  [SYNTHETIC]' if d.synthetic else ''}")
    print(f"slug    : {d.slug}    profile: {d.profile}")
    print(f"source  : {d.source}")
    print(f"sha256  : {d.sha256}")
    for k, s in (("train", d.train), ("dev", d.dev), ("test", d.test)):
        c = class_counts(s.y)
        print(f"{k:6s}  : {len(s):7d} images, per class {c.min()}..{c.max()}")
    for n in d.notes:
        print(f"note    : {n}")
    if not len(d.train):
        print(f"hwlib: warning: {d.source.split(' (sha256')[0]} has no training images — `run` cannot train on "
              "it (use it to evaluate or to look at letters, or use --data synthetic / the full dataset)",
              file=sys.stderr)


def _data_download(args) -> None:
    from hwlib.data import emnist, real_data_dir
    dest = Path(args.dest) if args.dest else real_data_dir()
    if args.archive is not None:
        archive = Path(args.archive)
        try:
            st = os.stat(archive)
        except (FileNotFoundError, NotADirectoryError):
            raise DataError(f"{shown(archive)}: no such file; give the path of NIST's gzip.zip, or run "
                            "`python -m hwlib data download` to fetch it") from None
        except OSError as e:
            raise DataError(f"{shown(archive)}: cannot be read ({e.strerror or e}); give the path of NIST's "
                            "gzip.zip file") from None
        kind = special_kind(st.st_mode)
        if kind:
            raise DataError(f"{archive}: {kind}, not NIST's gzip.zip — hwlib does not open it (reading it could "
                            "block forever); give the path of the gzip.zip file")
        if stat.S_ISDIR(st.st_mode):
            raise DataError(f"{archive}: a folder; `data import` takes NIST's gzip.zip file — a folder of "
                            "the four idx .gz files needs no import: pass it with --data (or HWLIB_DATA)")
        out = emnist.extract(archive, dest)
    else:
        print(f"downloading {emnist.URL} (~536 MB) into {dest.parent / 'downloads'} …")
        out = emnist.download(dest)
    print(f"EMNIST Letters ready in {out} (all four sha256 values match, checked while extracting). "
          "hwlib now uses it by default.")


def _data_synthetic(args) -> None:
    from hwlib.data import PROFILE_SIZES, synthetic
    t0 = time.perf_counter()
    per_class = PROFILE_SIZES[args.profile or "full"]
    synthetic.make_splits(per_class, seed=args.seed)
    path = synthetic.cache_path(per_class, args.seed)
    try:
        cached = path.is_file()
    except OSError:
        cached = False
    print(f"synthetic letters ({args.profile or 'full'}) ready in {time.perf_counter() - t0:.1f} s: "
          f"{path if cached else 'not cached (the cache folder is not writable)'}")


def _data_fonts(args) -> None:
    from hwlib.data import hands
    paths = hands.fetch_all()
    table = hands.traced_table()
    print(f"{len(paths)} handwriting font families ready in {hands.font_dir()} "
          f"({len(table)} letter forms traced; licences beside each font)")


def _list(args) -> None:
    from hwlib.data import active_profile, dataset_slug, load_letters
    from hwlib.experiments import registry, results
    profile = args.profile or active_profile()
    verify = not args.no_verify
    d = load_letters(args.data, profile=profile, verify=verify, label_base=args.label_base, generate=False)
    if d is None:  # the synthetic default, not generated yet: list never generates it
        slug, sha256 = dataset_slug(args.data, verify=verify), None
        print(f"dataset {slug} ({profile}): not generated yet, so the records' data hash is not checked — "
              f"`python -m hwlib data synthetic --profile {profile}` generates it")
    else:
        slug, sha256 = d.slug, d.sha256
        print(f"dataset {slug} ({profile}): {d.name}, sha256 {sha256[:12]}…")
    bad, names = [], []
    for name, exp in registry().items():
        recs, b = results.scan(name, slug, profile, sha256=sha256)
        bad, names = bad + b, names + [name] * len(b)
        n = sum(1 for r in recs if r.get("complete"))
        print(f"{name:16s} {n:3d} recorded run(s){f', {len(b)} unusable' if b else ''}  {exp.help}")
    if bad:
        raise results.bad_records_error(bad, names)


def _run(args) -> None:
    from hwlib.experiments import run_experiment
    run_experiment(args.name, args.profile, force=args.force, data_path=args.data,
                   verify=not args.no_verify, label_base=args.label_base)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, where to look) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m hwlib", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--data", help="dataset path (default: $HWLIB_DATA, then the cache, then synthetic)")
        sp.add_argument("--profile", choices=["full", "quick"], help="default: $HWLIB_PROFILE or full")
        sp.add_argument("--no-verify", action="store_true",
                        help="accept idx files (folder or gzip.zip) whose sha256 is not the official one")
        sp.add_argument("--label-base", type=int, choices=[0, 1],
                        help="how an npz counts its labels (0: 0..25, 1: 1..26) when they do not say")

    d = sub.add_parser("data", help="dataset commands").add_subparsers(dest="data_cmd", required=True)
    sp = d.add_parser("info", help="show which dataset resolves")
    common(sp)
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
    sp = d.add_parser("fonts", help="fetch the handwriting fonts synthetic-letters-v4 draws (npm, ~38 MB, once)")
    sp.set_defaults(fn=_data_fonts)

    sp = sub.add_parser("list", help="list experiments")
    common(sp)
    sp.set_defaults(fn=_list)
    sp = sub.add_parser("run", help="run an experiment (or a prefix like q1, or all)")
    sp.add_argument("name")
    common(sp)
    sp.add_argument("--force", action="store_true", help="redo runs that already have records")
    sp.set_defaults(fn=_run)
    return p


def _what(args) -> tuple[str, str]:
    """What a command does, and what an interruption of it leaves behind (errors.activity)."""
    if args.cmd == "run":
        return f"preparing {args.name}", "nothing was trained or changed; rerun the same command"
    if args.cmd == "list":
        return "listing the records", "nothing was changed"
    if args.data_cmd == "synthetic":
        return ("generating the synthetic letters", "nothing was cached; rerun the same command to generate "
                "them")
    if args.data_cmd in ("download", "import"):
        return "installing EMNIST Letters", "no file was installed half-written; rerun the same command"
    return "reading the dataset", "nothing was changed"


def _on_signal(signum, frame):
    """SIGTERM raises Terminated, SIGINT KeyboardInterrupt; both are remembered (``errors.raise_pending``)."""
    raise interrupted(Terminated() if signum == signal.SIGTERM else KeyboardInterrupt())


def _unraisable(u, default) -> None:
    """Keep quiet about the interruption ``_on_signal`` raised where Python cannot propagate it (inside
    numba's compiler callbacks, which print it with a traceback): it is pending, raised again by
    ``errors.raise_pending``. Anything else goes to the ``default`` hook."""
    if not (isinstance(u.exc_value, KeyboardInterrupt) and u.exc_value in _PENDING):
        default(u)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sys.stdout.reconfigure(errors="backslashreplace")  # a path that is not valid UTF-8 still prints
    except (AttributeError, ValueError):
        pass
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)} if main_thread else {}
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: _unraisable(u, hook)
    try:
        with activity(*_what(args)):
            args.fn(args)
    except HwlibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (Terminated)
        _PENDING.clear()
        print(interruption_line(e), file=sys.stderr)
        return getattr(e, "exit_status", 130)
    except BrokenPipeError:  # the reader of stdout went away (`list | head`): nothing more to say
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141
    except OSError as e:  # what the operating system refuses on a path no check foresaw
        where = f"{shown(e.filename)}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e} — check that path (--data, HWLIB_DATA, HWLIB_RESULTS or "
              "HWLIB_CACHE) or point it at a usable folder with a shorter path", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory; free memory (close other programs), use a machine with more, or "
              "pass --profile quick", file=sys.stderr)
        return 2
    finally:
        _PENDING.clear()
        sys.unraisablehook = hook
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    return 0
