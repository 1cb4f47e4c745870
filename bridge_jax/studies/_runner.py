"""Run the five experiments, save each result as it finishes, write results.json and figures.

Each finished experiment is written atomically to DIR/experiments/NAME.json together with a
digest of the configuration and of all of bridge_jax's code (`bridge_jax.store`); a rerun with
the same digest loads it instead of recomputing, so an interrupted run loses at most the
experiment in progress, and a rerun after any change to the code computes everything again.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import sys
import tempfile
import time

from bridge_jax import store
from bridge_jax.studies._config import Config, LearnConfig

EXPERIMENTS = (
    "fig1_spectrum",
    "fig2_masking",
    "fig3_convergence",
    "fig4_transfer",
    "fig5_taxonomy",
)
FORMAT = "bridge_jax.experiment/1"


class UserError(Exception):
    """A mistake in the user's input: shown as one line, exit code 2."""


def result_digest(config: Config, module) -> str:
    """Identifies a saved result: the configuration, the experiment and all of the package's
    code (`bridge_jax.store.digest`)."""
    return store.digest(config, module.__name__)


def load_cached(path: str, digest: str, *, fmt: str = FORMAT, writer="bridge-jax reproduce"):
    """The result saved at `path` if its digest matches, None if absent or stale (another
    configuration or changed code: the caller recomputes and overwrites it).

    A file that is unreadable or was written by something else is a `UserError`: it is never
    silently overwritten.
    """
    try:
        return store.load_if_current(
            path,
            digest,
            fmt=fmt,
            stale="recompute",
            what="experiment result",
            writer=writer,
            recover="delete it, choose another --out, or pass --fresh",
        )
    except store.StoreError as e:
        raise UserError(str(e)) from e


def write_timing(out: str, name: str, seconds: float) -> None:
    """Record a command's wall time in DIR/timings.json (`{name: seconds}`), apart from its
    results, so that identical runs write byte-identical result files."""
    path = os.path.join(out, "timings.json")
    try:
        with open(path, encoding="utf-8") as f:
            timings = json.load(f)
        timings = timings if isinstance(timings, dict) and not os.path.islink(path) else {}
    except (OSError, ValueError):
        timings = {}
    timings[name] = round(float(seconds), 3)
    store.write_json(path, timings)


def check_writable(out: str) -> None:
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as e:
        raise UserError(f"cannot write to output folder {out!r}: {e.strerror or e}.") from e


def progress_printer(total: int):
    """The studies' one progress line: `say(i, name, status)` prints `[i/total] name status
    elapsed` on stderr (the library itself never prints)."""
    start = time.perf_counter()

    def say(i: int, name: str, status: str):
        elapsed = time.perf_counter() - start
        print(
            f"[{i}/{total}] {name:<18} {status:<40} {elapsed:7.1f}s elapsed",
            file=sys.stderr,
            flush=True,
        )

    return say


def _count_lines(path: str) -> int | None:
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def release_programs_if_needed(*, fraction: float = 0.5, limit: int | None = None) -> bool:
    """Drop JAX's in-memory compiled programs when the process nears the OS limit on memory
    mappings; the studies call this after each saved unit. Returns whether it dropped them.

    Linux gives a process at most `vm.max_map_count` memory mappings (65,530 by default).
    XLA:CPU keeps about three per compiled program (its JIT code and data) for as long as the
    program is cached, whether compiled or loaded from the persistent cache. A long study
    compiles thousands: the imaging benchmark's default run reached the limit at its 47th
    unit of 72 (twice with the persistent cache, where it crashed reading a program from it;
    once without, `LLVM compilation error: Cannot allocate memory`, then a segmentation
    fault). `jax.clear_caches()` frees them (200 small programs: 1,072 mappings -> 472).
    Past `fraction` of the limit (`limit`: the limit to use instead of the system's), the
    caches are cleared; later units recompile, or load from the persistent cache, what they
    need. Elsewhere than Linux (no /proc) it does nothing; a single unit that alone needs
    more mappings than are left still fails.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    limit = _read_int("/proc/sys/vm/max_map_count") if limit is None else limit
    held = _count_lines("/proc/self/maps")
    if limit is None or held is None:
        return False
    # Past the threshold, clear only when the count has grown by a tenth of the limit since
    # the last clear: mappings that clearing cannot free must not make every unit recompile.
    if held <= max(fraction * limit, _AFTER_CLEAR[0] + limit / 10):
        return False
    import jax

    jax.clear_caches()
    gc.collect()
    _AFTER_CLEAR[0] = _count_lines("/proc/self/maps") or 0
    print(
        f"  (released compiled programs: {held} memory mappings of the system's {limit}; "
        f"{_AFTER_CLEAR[0]} now)",
        file=sys.stderr,
        flush=True,
    )
    return True


_AFTER_CLEAR = [0]  # mappings held right after the last clear (this process)


def training_printer(name: str, step: int, num_steps: int, loss: float) -> None:
    """`fit`'s progress callback for the studies: one line per report on stderr."""
    print(f"  {name}: step {step}/{num_steps} loss {loss:.4g}", file=sys.stderr, flush=True)


def run_experiments(config: Config, out: str, *, names=EXPERIMENTS, fresh=False) -> dict:
    """Run (or load) each experiment, returning {name: result}; timings in seconds too."""
    config.validate()
    check_writable(out)
    say = progress_printer(len(names))
    results, timings = {}, {}
    for i, name in enumerate(names, 1):
        module = importlib.import_module(f"bridge_jax.studies.{name}")
        path = os.path.join(out, "experiments", f"{name}.json")
        digest = result_digest(config, module)
        cached = None if fresh else load_cached(path, digest)
        if cached is not None and not (
            isinstance(cached, dict)
            and isinstance(cached.get("metrics"), dict)
            and "curves" in cached
        ):
            raise UserError(
                f"{path} holds an incomplete result (no metrics or curves); delete that file to "
                "recompute this experiment (the others are kept)."
            )
        if cached is not None:
            say(i, name, "loaded from an earlier run")
            results[name], timings[name] = cached, 0.0
            continue
        say(i, name, "running")
        t0 = time.perf_counter()
        result = module.run(config, progress=lambda msg, i=i, name=name: say(i, name, msg))
        timings[name] = time.perf_counter() - t0
        # Keep what was written (JSON types), so a resumed run returns identical objects.
        results[name] = json.loads(json.dumps(result, allow_nan=False))
        store.save_result(path, results[name], fmt=FORMAT, digest=digest)
        say(i, name, f"done in {timings[name]:.1f}s")
        release_programs_if_needed()
    return {"results": results, "timings": timings}


DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "bridge_jax", "jax")
CACHE_LIMIT_BYTES = 2 * 1024**3  # the oldest programs are deleted beyond this, once per run


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    """`--cache DIR` and `--no-cache`, given to every command."""
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="persistent compilation cache folder: a second run loads its compiled programs "
        "instead of compiling them (default: the folder JAX is already configured with, else "
        f"{DEFAULT_CACHE.replace(os.path.expanduser('~'), '~')}; the oldest programs are "
        "deleted when a run starts with more than 2 GiB there)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not use the cache")


def prepare_jax(args) -> None:
    """What every command does before its study runs: JAX's unrolled Threefry on the CPU (the
    same random bits, drawn faster) and the compilation cache `args` ask for."""
    import bridge_jax as bj

    bj.use_unrolled_threefry()
    use_compilation_cache(args)


def use_compilation_cache(args) -> str | None:
    """Turn on the compilation cache that `args` (`add_cache_arguments`) ask for; its folder."""
    import jax

    if getattr(args, "no_cache", False):
        return None
    path = getattr(args, "cache", None)
    if path is None and jax.config.jax_compilation_cache_dir:
        # A folder the user (or a test harness) configured already wins over ours, and its
        # size is theirs to manage.
        return enable_compilation_cache(jax.config.jax_compilation_cache_dir, prune=False)
    return enable_compilation_cache(path or DEFAULT_CACHE)


def prune_compilation_cache(path: str, limit: int = CACHE_LIMIT_BYTES) -> int:
    """Delete the oldest programs of the cache folder `path` until it holds at most `limit`
    bytes; returns how many were deleted.

    Once per run, instead of JAX's own size limit (`jax_compilation_cache_max_size`), which
    lists, stats and reads every entry of the folder at each program it writes: quadratic in
    the number of programs (a test run that wrote 7,600 programs took twice as long).
    """
    entries = []
    with os.scandir(path) as folder:
        for entry in folder:
            if entry.name.endswith("-cache") and entry.is_file():
                stat = entry.stat()
                entries.append((stat.st_mtime, entry.path, stat.st_size))
    total, removed = sum(size for _, _, size in entries), 0
    for _, file, size in sorted(entries):
        if total <= limit:
            break
        for name in (file, file[: -len("-cache")] + "-atime"):  # JAX's access-time record
            with contextlib.suppress(OSError):
                os.remove(name)
        total, removed = total - size, removed + 1
    return removed


def enable_compilation_cache(path: str | None, *, prune: bool = True) -> str | None:
    """Use JAX's persistent compilation cache at `path` (None: leave it off); with `prune`,
    first delete its oldest programs beyond `CACHE_LIMIT_BYTES`."""
    if path is None:
        return None
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as e:
        raise UserError(
            f"cannot use {path!r} as the compilation cache folder: {e.strerror or e}; pass "
            "another --cache folder, or --no-cache."
        ) from e
    # XLA:CPU logs an ERROR line per cached program about pseudo CPU features
    # (+prefer-no-gather) when it loads them; the programs run correctly. Keep the output clean
    # unless the user chose a log level (`import jax` sets the variable to "1" when it is unset,
    # so "1" counts as not chosen; TF_CPP_MIN_LOG_LEVEL=0 shows the lines). The variable is read
    # when jaxlib loads, before this runs, so the level is set in the running library too.
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "1") == "1":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        _quiet_xla_log()
    import jax

    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if prune:
        prune_compilation_cache(path)
    return path


def _quiet_xla_log() -> None:
    try:
        from jax._src.lib import utils as xla_utils  # no public switch for the C++ log level

        xla_utils.absl_set_min_log_level(3)
    except (ImportError, AttributeError):  # another jaxlib: the environment variable only
        pass


def make_figures(results: dict, out: str) -> list[str]:
    fig_dir = os.path.join(out, "figures")
    paths = []
    for name, result in results.items():
        module = importlib.import_module(f"bridge_jax.studies.{name}")
        paths += module.plot(result, fig_dir)
    return paths


def add_config_arguments(parser: argparse.ArgumentParser, *, data_options: bool = False) -> None:
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    if data_options:
        parser.add_argument(
            "--data",
            default="sparse",
            choices=(*Config.DATA, "synthetic"),
            help="signals: the paper's sparse ones (default; 'synthetic', their old name, still "
            "works) or the 8x8 digits of scikit-learn with real image augmentations (needs pip "
            "install 'bridge_jax[data]')",
        )
        parser.add_argument(
            "--operator",
            default="gaussian",
            choices=Config.OPERATORS,
            help="measurement operator A: Gaussian CS (the paper's, default), inpainting "
            "(m random pixels) or blur followed by m random pixels",
        )
    parser.add_argument("--trials", type=int, help="number of trials (default: 20, the paper's)")
    parser.add_argument(
        "--signals", type=int, help="signals per trial N (default: 500, the paper's)"
    )
    parser.add_argument("--seed", type=int, help="random seed (default: 42, the paper's)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny setting for a smoke test (its numbers are not comparable with the paper's)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="recompute experiments even if saved results exist"
    )


def require_scikit_learn(hint: str = "") -> None:
    """A `UserError` naming what to install when the digits' package is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError as e:
        raise UserError(
            "--data digits needs scikit-learn: pip install 'bridge_jax[data]' "
            f"(or pip install scikit-learn){hint}."
        ) from e


def config_from_args(args, cls=Config) -> Config:
    overrides = {
        k: getattr(args, k) for k in ("trials", "signals", "seed") if getattr(args, k) is not None
    }
    for k in ("trials", "signals"):
        if k in overrides and overrides[k] < 1:
            raise UserError(f"--{k} must be a positive integer, got {overrides[k]}.")
    for k in ("data", "operator"):
        if getattr(args, k, None) is not None:
            overrides[k] = getattr(args, k)
    if overrides.get("data") == "synthetic":  # the old name of the sparse signals
        overrides["data"] = "sparse"
    if overrides.get("data") == "digits":
        require_scikit_learn()
        overrides["n"] = 64  # 8x8 images (also in the --quick setting)
    try:
        config = cls.quick(**overrides) if args.quick else cls(**overrides)
        return config.validate()
    except ValueError as e:
        raise UserError(str(e)) from e


def study_config(cls, args, flags: dict[str, str], **overrides):
    """`cls` (its `quick` setting with `--quick`) with the command-line options `flags` (option
    name -> field) that were given, and `overrides`; validated."""
    given = {field: getattr(args, name) for name, field in flags.items()}
    overrides = {**{k: v for k, v in given.items() if v is not None}, **overrides}
    return (cls.quick if args.quick else cls)(**overrides).validate()


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: ...)" to an option's help unless the help states it already; flags
    and options without a default (None) are left as they are."""

    def _get_help_string(self, action):
        text = action.help or ""
        no_default = action.default is None or action.default is False or action.default == []
        if no_default or action.default == argparse.SUPPRESS or "default" in text.lower():
            return text
        return f"{text} (default: %(default)s)".lstrip()


class RawDefaultsHelpFormatter(DefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """`DefaultsHelpFormatter` that keeps the description's own line breaks."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line and exits with code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def single_experiment_main(name: str, argv=None, learn: bool = False, prog=None) -> int:
    parser = OneLineParser(
        prog=prog or f"python -m bridge_jax.studies.{name}",
        description=importlib.import_module(f"bridge_jax.studies.{name}").__doc__,
        formatter_class=RawDefaultsHelpFormatter,
    )
    add_config_arguments(parser)
    add_cache_arguments(parser)
    args = parser.parse_args(argv)
    try:
        prepare_jax(args)
        config = config_from_args(args, LearnConfig if learn else Config)
        run = run_experiments(config, args.out, names=(name,), fresh=args.fresh)
        for path in make_figures(run["results"], args.out):
            print(path)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
