r"""Saving results: one atomic writer, one digest of (configuration, code), one resume rule.

- **Writing.** Every file (results, chunks, checkpoints, reports, figures) is written to a
  temporary file in the same folder, flushed, `fsync`-ed and renamed over the destination with
  `os.replace`, and the folder is `fsync`-ed after the rename. A reader sees the old file or
  the new one, never half of one; a failed write leaves no temporary file behind, and those
  of a killed run are deleted by the next (`remove_stale_temporaries`).
  Renaming replaces a symbolic link at the destination by a regular file instead of writing
  through it, so a planted link cannot make a run overwrite the file it points to.
- **Identifying.** `digest(config, *extra)` hashes a canonical JSON of the configuration
  together with `code_digest()`, a hash of every source file of the installed package: any
  change to the library or the studies invalidates what was saved with the old code.
- **Resuming.** `load_if_current(path, digest, fmt=...)` returns what was saved when the file
  carries this format and digest, `None` when there is nothing to resume, and raises a
  one-line `StoreError` when the file cannot be used; a file that is unreadable or written by
  something else is never silently overwritten. A symbolic link at a result's path is refused
  on reading too (a planted link cannot make a run resume from a file outside its folder).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np


class StoreError(ValueError):
    """A saved file that cannot be resumed from; the message names it and how to recover."""


# ------------------------------------------------------------------------------------ writing


@contextlib.contextmanager
def _replacing(path: str | os.PathLike) -> Iterator[io.BufferedWriter]:
    """A binary file that replaces `path` atomically when the block ends without an error."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # O_EXCL with mode 0o666 (narrowed by the umask) gives the permissions of a plain `open`,
    # unlike mkstemp's 0o600, and never follows a link planted at the temporary name.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_directory(directory)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and (e.filename is None or e.filename == tmp):
            # A full disk or a file-size limit names no file (or our temporary one): name
            # the file that was being written, keeping the error's class and number.
            raise type(e)(e.errno, e.strerror or str(e), path) from e
        raise


_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")  # `_replacing`'s names


def remove_stale_temporaries(folder: str | os.PathLike, *, older_than: float = 600.0) -> int:
    """Delete the temporary files that `atomic_write` left under `folder` (its subfolders
    too) when a run was killed mid-write: regular files named as it names them, untouched for
    `older_than` seconds (a write in progress in another process is newer). Links and
    anything else are left alone. Returns how many were deleted."""
    removed, now = 0, time.time()
    for root, _dirs, files in os.walk(folder):  # does not follow links to folders
        for name in files:
            path = os.path.join(root, name)
            if not _TEMPORARY.fullmatch(name) or os.path.islink(path):
                continue
            with contextlib.suppress(OSError):
                if now - os.lstat(path).st_mtime >= older_than:
                    os.unlink(path)
                    removed += 1
    return removed


def _sync_directory(directory: str) -> None:
    """`fsync` the folder, so that the rename itself survives a crash (POSIX only)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # e.g. Windows, where a folder cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Replace `path` by `data` (a `str` is written as UTF-8) atomically; see the module doc."""
    with _replacing(path) as f:
        f.write(data.encode() if isinstance(data, str) else data)


def json_types(obj):
    """`obj` with every float NaN (an undefined value: e.g. the interval of one trial) as None,
    the JSON null; an infinity is still an error when written."""
    if isinstance(obj, dict):
        return {k: json_types(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_types(v) for v in obj]
    if isinstance(obj, float | np.floating) and np.isnan(obj):
        return None
    return obj


def write_json(path: str | os.PathLike, obj) -> None:
    """`obj` as JSON (indent 1, trailing newline), written atomically; NaN is written as null
    (`json_types`), an infinity is an error."""
    atomic_write(path, json.dumps(json_types(obj), indent=1, allow_nan=False) + "\n")


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], *, header: dict) -> None:
    """NumPy arrays plus a JSON `header` (stored as the array `__meta__`), written atomically."""
    buf = io.BytesIO()
    meta = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(buf, __meta__=meta, **arrays)
    atomic_write(path, buf.getvalue())


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> None:
    """`fig.savefig` into a temporary file, renamed over `path` (format from its suffix)."""
    fmt = Path(path).suffix.lstrip(".") or None
    with _replacing(path) as f:
        fig.savefig(f, format=fmt, **savefig_kwargs)


# -------------------------------------------------------------------------------- identifying


def _plain(obj):
    """Configuration objects as JSON types: dataclasses, `as_dict()` objects, NumPy values."""
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    # Anything else (a function, an object with an address in its repr) has no stable text.
    raise TypeError(f"cannot digest a {type(obj).__name__}: use JSON types or a dataclass.")


def canonical_json(config_like) -> str:
    """One text per configuration: JSON with sorted keys and no spaces (see `_plain`)."""
    return json.dumps(_plain_tree(config_like), sort_keys=True, separators=(",", ":"))


def _plain_tree(obj):
    if isinstance(obj, dict):
        return {str(k): _plain_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain_tree(v) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return _plain_tree(_plain(obj))


def _sha16(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        # Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        data = part.encode()
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:16]


def code_digest(root: str | os.PathLike | None = None) -> str:
    """A hash of the package's source: every `*.py` and `*.json` under `root` (default: the
    installed `bridge_jax`), relative path and bytes, in sorted order.

    The installed package's digest is computed once per process.
    """
    if root is None:
        return _installed_code_digest()
    root = Path(root)
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.suffix in (".py", ".json")
        # Editors' lock and backup files (".#x.py", possibly dangling links) are not code.
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.is_file()
    )
    h = hashlib.sha256()
    for rel in files:
        data = (root / rel).read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode() + data)
    return h.hexdigest()[:16]


@functools.cache
def _installed_code_digest() -> str:
    return code_digest(Path(__file__).parent)


def digest(config_like, *extra: str, code: bool = True) -> str:
    r"""Identifies saved results: 16 hex digits of SHA-256 over `canonical_json(config_like)`,
    `code_digest()` (unless `code=False`: the configuration alone) and the `extra` strings."""
    return _sha16(canonical_json(config_like), *((code_digest(),) if code else ()), *extra)


def tree_digest(tree) -> str:
    """16 hex digits of SHA-256 over a pytree's structure and, for every array leaf, its shape,
    dtype and bytes (other leaves by `repr`): identifies a model or a state exactly."""
    import jax  # the store itself needs no JAX; only this function looks into pytrees

    leaves, treedef = jax.tree_util.tree_flatten(tree)
    h = hashlib.sha256(_without_addresses(str(treedef)).encode())
    for leaf in leaves:
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
            arr = np.asarray(leaf)
            h.update(f"{arr.shape}{arr.dtype}".encode() + np.ascontiguousarray(arr).tobytes())
        else:
            h.update(_without_addresses(repr(leaf)).encode())
    return h.hexdigest()[:16]


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _without_addresses(text: str) -> str:
    """`repr` text without the memory addresses of functions and objects (`<function f at
    0x7f...>`), which differ from one process to the next: a digest must not."""
    return _ADDRESS.sub("", text)


# --------------------------------------------------------------------------------- resuming


def save_result(path: str | os.PathLike, payload, *, fmt: str, digest: str, **header) -> None:
    """Save `payload` with the header that `load_if_current` checks.

    A `.npz` path takes a dict of arrays (the header goes into `__meta__`); any other path is
    JSON `{"format": fmt, "digest": digest, **header, "result": payload}`.
    """
    head = {"format": fmt, "digest": digest, **header}
    if os.fspath(path).endswith(".npz"):
        write_npz(path, payload, header=head)
    else:
        write_json(path, {**head, "result": payload})


def _read(path: str) -> tuple[dict, object]:
    if path.endswith(".npz"):
        with np.load(path) as data:
            head = json.loads(bytes(data["__meta__"]).decode())
            return head, {k: data[k] for k in data.files if k != "__meta__"}
    with open(path) as f:
        saved = json.load(f)
    if not isinstance(saved, dict):
        return {}, None
    return saved, saved.get("result")


def saved_digest(path: str | os.PathLike) -> str | None:
    """The digest in the header of the result saved at `path` (None if it has none or cannot
    be read)."""
    try:
        head, _ = _read(os.fspath(path))
    except Exception:  # noqa: BLE001 - unreadable: no digest
        return None
    return head.get("digest") if isinstance(head.get("digest"), str) else None


def load_if_current(
    path: str | os.PathLike,
    digest: str,
    *,
    fmt: str,
    stale: Literal["raise", "recompute"] = "raise",
    what: str = "saved result",
    writer: str = "bridge_jax",
    recover: str = "delete it",
):
    """The payload saved at `path` by `save_result` if its format and digest match.

    **Returns** `None` if `path` does not exist, or if it holds another digest and
    `stale="recompute"` (the caller computes again and overwrites it).

    **Raises** `StoreError` (one line: the path, what is wrong, then `recover`) if the file is
    unreadable, has another format, or holds another digest and `stale="raise"`.
    """
    path = os.fspath(path)
    if os.path.islink(path):
        raise StoreError(
            f"{path} is a symbolic link, not a {what} (results are regular files); {recover}."
        )
    if not os.path.exists(path):
        return None
    try:
        head, payload = _read(path)
    except Exception as e:  # noqa: BLE001 - any failure to parse means the same thing here
        raise StoreError(
            f"{path} is not a readable {what} ({type(e).__name__}: {e}); {recover}."
        ) from e
    if head.get("format") != fmt:
        raise StoreError(f"{path} was not written by {writer}; {recover}.")
    if head.get("digest") != digest:
        if stale == "recompute":
            return None
        raise StoreError(
            f"{path} was computed with another configuration or another version of the code "
            f"(digest {head.get('digest')}, this run {digest}); {recover}."
        )
    return payload
