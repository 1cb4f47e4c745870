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
import re
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


def unit_digest(config, study: str, **identity) -> str:
    """Identifies ONE saved unit of a study: the configuration, the study, the unit's own
    parameters (`identity`: its data, field, m/n, ...) and all of the package's code.

    Because the unit's parameters are in it, a unit file copied or renamed under another
    unit's name does not match that unit and is recomputed, never read as its results."""
    return store.digest(config, study, store.canonical_json(identity))


def load_or_compute(
    path: str,
    digest: str,
    compute,
    *,
    fmt: str,
    writer: str,
    required: tuple[str, ...],
    say,
    fresh: bool = False,
) -> dict:
    """The studies' one resume rule for a unit saved at `path`: its saved result if the file
    carries `digest` (`unit_digest`) and a dict with every `required` key; else `compute()`,
    saved atomically, then released programs if the process nears the OS limit.

    `say(status)` gets one progress word per unit: loaded, running, done, and why a saved
    file was not used (another unit, configuration or code; a file without a result). A
    file that is unreadable or was written by something else is a `UserError` (never
    overwritten).
    """
    unit, why = None, None
    if not fresh:
        unit = load_cached(path, digest, fmt=fmt, writer=writer)
        if unit is None and os.path.lexists(path):
            why = (
                f"saved file has no {', '.join(required)}"
                if store.saved_digest(path) == digest
                else "saved for another unit, configuration or code"
            )
        elif unit is not None and not (isinstance(unit, dict) and all(k in unit for k in required)):
            missing = [k for k in required if not isinstance(unit, dict) or k not in unit]
            unit, why = None, f"saved file has no {', '.join(missing)}"
    if unit is not None:
        say("loaded from an earlier run")
        return unit
    say(f"running ({why}: recomputing)" if why else "running")
    t0 = time.perf_counter()
    unit = compute()
    # Keep what is written (JSON types, NaN as None), so that a resumed run returns
    # identical objects.
    unit = json.loads(json.dumps(store.json_types(unit), allow_nan=False))
    store.save_result(path, unit, fmt=fmt, digest=digest)
    say(f"done in {time.perf_counter() - t0:.1f}s")
    release_programs_if_needed()
    return unit


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


def os_error_line(e: OSError) -> str:
    """An operating-system failure (full disk, file-size limit, permissions, a file where a
    folder should be) as one line naming the path and the cause."""
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
    cause = e.strerror or str(e) or type(e).__name__
    if isinstance(e, FileExistsError | NotADirectoryError):
        cause += " (a file is where a folder is needed: move it away)"
    return f"{where}: {cause}" if where else cause


def check_no_links(out: str) -> None:
    """A `UserError` if a folder inside `out` is a symbolic link: a run would write its
    results through it into another place (every command checks this first)."""
    if not os.path.isdir(out):
        return
    for root, dirs, _ in os.walk(out):  # lists links to folders without following them
        for name in dirs:
            path = os.path.join(root, name)
            if os.path.islink(path):
                raise UserError(
                    f"{path} is a symbolic link to a folder ({os.path.realpath(path)}); a run "
                    "would write through it. Replace it by a real folder or pass another --out."
                )


def check_writable(out: str) -> None:
    """What every command checks of its output folder before any work: a folder (not a
    file) it can write to, with no symbolic links to folders inside; it also deletes the
    temporary files of a killed earlier run."""
    if os.path.lexists(out) and not os.path.isdir(out):
        raise UserError(f"output folder {out!r} is a file, not a folder; pass another --out.")
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as e:
        raise UserError(f"cannot write to output folder {out!r}: {e.strerror or e}.") from e
    check_no_links(out)
    store.remove_stale_temporaries(out)


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
        t0, ran = time.perf_counter(), []

        def compute(module=module, i=i, name=name, ran=ran):
            ran.append(True)
            return module.run(config, progress=lambda msg: say(i, name, msg))

        results[name] = load_or_compute(
            path,
            result_digest(config, module),
            compute,
            fmt=FORMAT,
            writer="bridge-jax reproduce",
            required=("metrics", "curves"),
            say=lambda status, i=i, name=name: say(i, name, status),
            fresh=fresh,
        )
        timings[name] = time.perf_counter() - t0 if ran else 0.0
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


# JAX's persistent cache writes `<module name>-<64 hex digits of SHA-256>-cache` (the program)
# and `...-atime` (its last access) as regular files (jax/_src/cache_key.py, lru_cache.py).
_JAX_ENTRY = re.compile(r"[A-Za-z0-9_.\-]+-[0-9a-f]{64}-(cache|atime)")
CACHE_MARKER = ".bridge_jax-compilation-cache"  # written in a folder the cache was started in


def _is_jax_entry(entry: os.DirEntry) -> bool:
    return bool(_JAX_ENTRY.fullmatch(entry.name)) and entry.is_file(follow_symlinks=False)


def prune_compilation_cache(path: str, limit: int = CACHE_LIMIT_BYTES) -> int:
    """Delete the oldest programs of the cache folder `path` until it holds at most `limit`
    bytes; returns how many were deleted.

    Only in a folder that carries our mark (`CACHE_MARKER`, written when the cache starts in
    a new or empty folder, or in the default one), and only JAX's own entries: regular files
    (never links or folders) named as JAX names them. Anything else there (a user's files,
    folders, links, other `*-cache` names) is neither counted nor touched.

    Once per run, instead of JAX's own size limit (`jax_compilation_cache_max_size`), which
    lists, stats and reads every entry of the folder at each program it writes: quadratic in
    the number of programs (a test run that wrote 7,600 programs took twice as long).
    """
    marker = os.path.join(path, CACHE_MARKER)
    if not os.path.isfile(marker) or os.path.islink(marker):
        return 0
    entries, names = [], set()
    with os.scandir(path) as folder:
        for entry in folder:
            if _is_jax_entry(entry):
                names.add(entry.name)
                if entry.name.endswith("-cache"):
                    stat = entry.stat(follow_symlinks=False)
                    entries.append((stat.st_mtime, entry.name, stat.st_size))
    total, removed = sum(size for _, _, size in entries), 0
    for _, name, size in sorted(entries):
        if total <= limit:
            break
        atime = name[: -len("-cache")] + "-atime"  # JAX's access-time record
        for victim in (name, atime) if atime in names else (name,):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(path, victim))
        total, removed = total - size, removed + 1
    return removed


def _mark_cache_folder(path: str) -> None:
    """Write `CACHE_MARKER` in `path` when the folder is ours: the default one, or one that
    holds nothing but JAX's entries (new or empty when the cache started there)."""
    marker = os.path.join(path, CACHE_MARKER)
    if os.path.lexists(marker):
        return
    ours = os.path.abspath(path) == os.path.abspath(DEFAULT_CACHE)
    if not ours:
        with os.scandir(path) as folder:
            ours = all(_is_jax_entry(e) for e in folder if not e.name.startswith(".probe-"))
    if ours:
        store.atomic_write(marker, "bridge_jax prunes JAX's compiled programs in this folder.\n")


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
        _mark_cache_folder(path)
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
    except OSError as e:
        print(f"error: {os_error_line(e)}; finished experiments are saved.", file=sys.stderr)
        return 1
    return 0
