"""Outputs that cannot hurt: where a run may write, one run at a time, and what is left after it.

- `check_outputs`: the output (and the history) is never one of the inputs, inside a folder input or
  matched by a glob input, and never the other one (symlinks followed; on a case-insensitive file
  system the comparison is the file system's own, through os.path.samefile). A refusal is one line
  naming the fix (`OutputRefused`, a ValueError).
- `locked`: an advisory lock (fcntl.flock on a sidecar `.<name>.salesxl-lock`; msvcrt on Windows) on the
  output and the history, so that a second run on the same files waits a moment, then stops with a
  clear message instead of replacing the first run's workbook without a word.
- `new_file_mode`/`give_mode`: the permissions of a normal save under the user's umask (a temporary
  file is created 0600; an existing output keeps its own mode).
- `terminate_on_sigterm`: SIGTERM ends the run like Ctrl-C (the `finally` blocks remove the temporary
  files and stop the reader processes) rather than killing it where it stands.
- `sigterm_held`/`new_temp`: a file is created and registered for removal in one step that SIGTERM
  cannot split (the signal waits until the block ends), so a stopped run leaves nothing behind.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import fnmatch
import glob
import os
import signal
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

LOCK_WAIT = 10.0          # seconds a run waits for another run holding its output or history
_POLL = 0.05

_TEXT = {
    "is_input": {
        "en": "the {what} {path} is one of the inputs: it would overwrite a source; write it elsewhere (e.g. -o {hint})",
        "fr": "{what_fr} {path} fait partie des entrées : une source serait écrasée ; écrivez-le ailleurs (par ex. -o {hint})",
    },
    "in_folder": {
        "en": "the {what} {path} is inside the input folder {folder}: write it outside that folder (e.g. -o {hint})",
        "fr": "{what_fr} {path} est dans le dossier d'entrée {folder} : écrivez-le hors de ce dossier (par ex. -o {hint})",
    },
    "in_glob": {
        "en": "the {what} {path} matches the input pattern {folder}: give it a name the pattern does not match",
        "fr": "{what_fr} {path} correspond au motif d'entrée {folder} : donnez-lui un nom que le motif ne couvre pas",
    },
    "same": {
        "en": "the history {path} is the output itself: give --history another file (default: <output>.history.sqlite)",
        "fr": "l'historique {path} est la sortie elle-même : donnez à --history un autre fichier (par défaut : <sortie>.history.sqlite)",
    },
    "locked": {
        "en": "{path} is in use by another salesxl run (waited {seconds:g} s): try again when it is done, or use --wait",
        "fr": "{path} est utilisé par une autre exécution de salesxl (attente de {seconds:g} s) : réessayez quand elle est terminée, ou utilisez --wait",
    },
}
_WHAT = {"output": ("output", "la sortie"), "history": ("history", "l'historique")}


class OutputRefused(ValueError):
    """An output or history that would overwrite an input, or each other: one line naming the fix."""


class OutputLocked(RuntimeError):
    """Another run holds the output or the history."""


def _say(key: str, lang: str, **kw) -> str:
    lang = lang if lang in ("en", "fr") else "en"
    what = kw.pop("kind", "output")
    en, fr = _WHAT[what]
    return _TEXT[key][lang].format(what=en, what_fr=fr[:1].upper() + fr[1:] if key != "same" else fr, **kw)


def display(path: str | os.PathLike[str]) -> str:
    """A path (or any text) that can always be shown, encoded and stored: the undecodable bytes of a file
    name that is not UTF-8 (surrogate escapes) become U+FFFD, so that such a name never aborts a run."""
    s = os.fsdecode(path) if not isinstance(path, str) else path
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        pass
    try:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:                  # a lone surrogate that is not an escaped byte
        return s.encode("utf-8", "replace").decode("utf-8")


def _same(a: Path, b: Path) -> bool:
    """One file or folder: by the file system (symlinks, case on case-insensitive systems), else by path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a.resolve())) == os.path.normcase(os.path.abspath(b.resolve()))


def _inside(path: Path, folder: Path) -> bool:
    """`path` (existing or not) lies in `folder`, at any depth."""
    for parent in path.absolute().parents:
        if parent.exists() and _same(parent, folder):
            return True
    rp, rf = path.resolve(), folder.resolve()
    return rf in rp.parents


def _is_glob(s: str) -> bool:
    return any(ch in s for ch in "*?[")


def _glob_matches(pattern: str, path: Path) -> bool:
    """Whether `path` (existing or not) is matched by the glob `pattern` (`**` as glob(recursive=True))."""
    pat = Path(os.path.abspath(pattern)).parts
    parts = Path(os.path.abspath(path)).parts

    def match(i: int, j: int) -> bool:
        if i == len(pat):
            return j == len(parts)
        if pat[i] == "**":
            return any(match(i + 1, k) for k in range(j, len(parts) + 1))
        return j < len(parts) and fnmatch.fnmatch(parts[j], pat[i]) and match(i + 1, j + 1)

    if match(0, 0):
        return True
    return any(_same(Path(m), path) for m in glob.glob(pattern, recursive=True)) if path.exists() else False


def check_outputs(inputs: Sequence, output: str | os.PathLike[str], history: str | os.PathLike[str] | None = None,
                  lang: str = "en") -> None:
    """Refuse (OutputRefused) an output or history that is an input, inside a folder input, matched by
    a glob input, or equal to each other."""
    targets = [("output", Path(output))] + ([("history", Path(history))] if history else [])
    # (neither existing yet: names that differ only by case are one file on a case-insensitive system)
    if history and (_same(Path(output), Path(history)) if Path(output).exists() or Path(history).exists()
                    else os.path.abspath(output).casefold() == os.path.abspath(history).casefold()):
        raise OutputRefused(_say("same", lang, path=display(history)))
    for kind, target in targets:
        for item in inputs:
            s = os.fspath(item)
            p = Path(s)
            if p.is_dir():
                if _same(p, target) or _inside(target, p):
                    raise OutputRefused(_say("in_folder", lang, kind=kind, path=display(target), folder=display(p),
                                             hint=display(p.absolute().parent / target.name)))
            elif _is_glob(s) and not p.exists():
                if _glob_matches(s, target):
                    raise OutputRefused(_say("in_glob", lang, kind=kind, path=display(target), folder=display(s)))
            elif _same(p, target):
                raise OutputRefused(_say("is_input", lang, kind=kind, path=display(target),
                                         hint=display(target.with_name(target.stem + "-team" + target.suffix))))


# ---------------------------------------------------------------------------------------------
def lock_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name("." + path.name + ".salesxl-lock")


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:                         # Windows
        try:
            import msvcrt
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except ImportError:  # pragma: no cover - neither: no lock
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise


def _acquire(path: Path, wait: float, lang: str, held: list[tuple[Path, int]]) -> int | None:
    """The descriptor of the locked sidecar of `path`, appended to `held` before SIGTERM can stop the
    run; OutputLocked once `wait` seconds have passed (SIGTERM is not held while waiting).
    None where the folder does not allow a sidecar (a read-only folder: the write will fail anyway)."""
    lp = lock_path(path)
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        with sigterm_held():                    # the sidecar is created and kept (or closed) in one step
            try:
                fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:
                return None
            if _try_lock(fd):
                # the sidecar may have been removed by the run that held it just before we locked it: retry
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(lp))
                except OSError:
                    same = False
                if same:
                    held.append((path, fd))
                    return fd
                os.close(fd)
                continue
            os.close(fd)
        if time.monotonic() >= deadline:
            raise OutputLocked(_say("locked", lang, path=display(path), seconds=wait))
        time.sleep(_POLL)


def _release(path: Path, fd: int) -> None:
    try:
        os.unlink(lock_path(path))              # while still held: a waiting run re-checks the inode
    except OSError:
        pass
    os.close(fd)


@contextlib.contextmanager
def locked(paths: Iterable, wait: float | None = None, lang: str = "en") -> Iterator[None]:
    """Hold the advisory locks of `paths` (in a fixed order: two runs cannot wait for each other)."""
    wait = LOCK_WAIT if wait is None else wait
    held: list[tuple[Path, int]] = []
    try:
        for p in sorted({Path(os.path.abspath(p)) for p in paths if p}):
            p.parent.mkdir(parents=True, exist_ok=True)
            _acquire(p, wait, lang, held)
        yield
    finally:
        for p, fd in reversed(held):
            _release(p, fd)


# ---------------------------------------------------------------------------------------------
def _umask() -> int:
    if sys.platform == "linux":                 # read without changing it (threads may be running)
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("Umask:"):
                        return int(line.split()[1], 8)
        except OSError:
            pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a normal save gives a new file: 0666 less the umask."""
    return 0o666 & ~_umask()


def give_mode(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Before `tmp` replaces `target`: the mode `target` has (a normal save keeps it), else that of a new
    file under the umask (a temporary file is created 0600)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = new_file_mode()
    try:
        os.chmod(tmp, mode)
    except OSError:  # pragma: no cover - a file system without modes
        pass


# ---------------------------------------------------------------------------------------------
_TEMPS: set[str] = set()             # temporary outputs not yet moved into place nor removed
_held = 0                            # depth of sigterm_held blocks
_pending: int | None = None          # SIGTERM received inside one


@contextlib.contextmanager
def sigterm_held() -> Iterator[None]:
    """SIGTERM received inside the block stops the run when the block ends, not inside it: what the
    block creates is registered for removal first. Keep it short (never around a wait)."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            signum, _pending = _pending, None
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            raise SystemExit(128 + signum)


def new_temp(path: str | os.PathLike[str], suffix: str | None = None) -> Path:
    """An empty temporary file beside `path` (`.~<stem>-XXXX<suffix>`), tracked for removal at exit
    before SIGTERM can stop the run."""
    path = Path(path)
    with sigterm_held():
        fd, tmp = tempfile.mkstemp(prefix=".~" + path.stem + "-", suffix=path.suffix if suffix is None else suffix,
                                   dir=path.parent)
        track(tmp)
        os.close(fd)
    return Path(tmp)


def track(tmp: str | os.PathLike[str]) -> None:
    """A temporary output to remove at exit if it is still there (a run stopped half-way: SIGTERM hit
    between its creation and the `try` that removes it)."""
    if not _TEMPS:
        atexit.register(_remove_temps)
    _TEMPS.add(os.fspath(tmp))


def untrack(tmp: str | os.PathLike[str]) -> None:
    _TEMPS.discard(os.fspath(tmp))


def _remove_temps() -> None:
    for t in list(_TEMPS):
        try:
            os.unlink(t)
        except OSError:
            pass
        _TEMPS.discard(t)


def _sigterm(signum, frame):
    global _pending
    if _held:                                           # a file being created and registered: at the block's end
        _pending = signum
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)      # once: the clean-up is not interrupted again
    raise SystemExit(128 + signum)


def terminate_on_sigterm() -> None:
    """SIGTERM raises SystemExit in the main thread: `finally` blocks and atexit handlers run (temporary
    files, the package parts in /dev/shm, lock sidecars, reader processes)."""
    if hasattr(signal, "SIGTERM"):
        try:
            signal.signal(signal.SIGTERM, _sigterm)
        except ValueError:  # pragma: no cover - not the main thread
            pass
