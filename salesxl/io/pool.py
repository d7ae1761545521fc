"""Guarded worker processes for reading untrusted workbooks.

`GuardedPool(func, workers).imap(items)` runs `func(item)` in worker processes and yields
`(index, item, outcome)` in input order, where outcome is func's return value or a `TaskFailure`:

- every worker runs under an address-space limit (resource.RLIMIT_AS): a file that needs more memory
  gets a MemoryError (or kills its worker), never the machine;
- every task has a time limit: a soft one inside the worker (SIGALRM, the worker survives) and a hard
  one in the parent (the worker is killed and replaced) for code that does not return to Python;
- a worker that dies (segfault, abort, OOM kill) fails only the task it was running; a new worker
  takes its place and the run goes on;
- workers are recycled after `max_tasks` tasks (like maxtasksperchild), so memory stays flat;
- results are handed back in input order through a bounded reorder window: at most
  `window` results wait in the parent, whatever the number of items.

Workers are started with the "forkserver" method where available (fast, and safe with the parent's
threads), else "spawn". `func` and the items must be picklable.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator, Sequence

DEFAULT_TIMEOUT = 120.0          # seconds per file
DEFAULT_MEMORY = 2 * 1024 ** 3   # bytes of address space a worker may add to what it has at start
HARD_GRACE = 5.0                 # seconds after the soft limit before the worker is killed


@dataclass(frozen=True)
class TaskFailure:
    """Why a task produced no result: "timeout", "memory", "crash" or "error"."""
    kind: str
    detail: str
    seconds: float


class _SoftTimeout(BaseException):
    pass


_armed = False


def _alarm(signum, frame):  # pragma: no cover - runs in workers
    # The timer repeats until disarmed: an exception raised where Python ignores it (a __del__, a
    # callback) is raised again a moment later.
    if _armed:
        raise _SoftTimeout()


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(extra: int | None) -> None:
    if not extra:
        return
    try:
        import resource
        limit = _address_space() + extra
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on this platform
        pass


def _worker_main(conn, func: Callable, memory: int | None, soft_timeout: float | None) -> None:  # pragma: no cover
    """Loop of a worker process: receive (index, item), send (index, ("ok", result) | (kind, detail))."""
    global _armed
    signal.signal(signal.SIGINT, signal.SIG_IGN)          # the parent decides when to stop
    _limit_memory(memory)
    if soft_timeout and hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, _alarm)
    else:
        soft_timeout = None
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        index, item = msg
        t0 = time.perf_counter()
        try:
            if soft_timeout:
                _armed = True
                signal.setitimer(signal.ITIMER_REAL, soft_timeout, 0.05)
            try:
                out = ("ok", func(item))
            finally:
                _armed = False
                if soft_timeout:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except _SoftTimeout:
            out = ("timeout", f"stopped after {time.perf_counter() - t0:.1f} s")
        except MemoryError:
            out = ("memory", "out of memory (worker memory limit)")
        except Exception as exc:  # noqa: BLE001 - reported as the task's failure
            out = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send((index, out, time.perf_counter() - t0))
        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
            out = None
            try:
                conn.send((index, ("error", f"result not transferable: {type(exc).__name__}"[:300]),
                           time.perf_counter() - t0))
            except Exception:
                return


class _Worker:
    def __init__(self, ctx, func, memory, soft_timeout):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, func, memory, soft_timeout), daemon=True,
                                   name="salesxl-reader")
        self.process.start()
        child.close()
        self.tasks = 0
        self.task: tuple[int, float] | None = None     # (index, start time)

    def kill(self) -> None:
        try:
            self.process.kill()
        except Exception:  # pragma: no cover
            pass
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class GuardedPool:
    """Worker processes with per-task time limits, a memory limit, crash isolation and ordered results."""

    def __init__(self, func: Callable[[Any], Any], workers: int = 2, *, timeout: float | None = DEFAULT_TIMEOUT,
                 memory: int | None = DEFAULT_MEMORY, max_tasks: int = 200, window: int | None = None,
                 start_method: str | None = None, preload: Sequence[str] = ()):
        self.func = func
        self.workers = max(1, int(workers))
        self.timeout = timeout
        self.memory = memory
        self.max_tasks = max(1, int(max_tasks))
        self.window = window or self.workers * 3
        method = start_method or ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        self.ctx = mp.get_context(method)
        if method == "forkserver" and preload:
            self.ctx.set_forkserver_preload(list(preload))
        self._pool: list[_Worker] = []
        self.crashes = 0
        self.timeouts = 0

    def _spawn(self) -> _Worker:
        w = _Worker(self.ctx, self.func, self.memory, self.timeout)
        self._pool.append(w)
        return w

    def _retire(self, w: _Worker, kill: bool) -> None:
        if w in self._pool:
            self._pool.remove(w)
        w.kill() if kill else w.stop()

    def imap(self, items: Iterable[Any]) -> Iterator[tuple[int, Any, Any]]:
        """Yield (index, item, result or TaskFailure) in input order."""
        items = list(items)
        n = len(items)
        pending = deque(range(n))
        done: dict[int, Any] = {}
        next_out = 0
        hard = (self.timeout + HARD_GRACE) if self.timeout else None
        idle: list[_Worker] = []
        try:
            for _ in range(min(self.workers, n)):
                idle.append(self._spawn())
            while next_out < n:
                while next_out in done:
                    yield next_out, items[next_out], done.pop(next_out)
                    next_out += 1
                if next_out >= n:
                    break
                while idle and pending and pending[0] < next_out + self.window:
                    w = idle.pop()
                    i = pending.popleft()
                    try:
                        w.conn.send((i, items[i]))
                    except (OSError, ValueError):            # the worker died while idle
                        self._retire(w, kill=True)
                        pending.appendleft(i)
                        idle.append(self._spawn())
                        continue
                    w.task = (i, time.monotonic())
                busy = [w for w in self._pool if w.task is not None]
                if not busy:             # nothing running: only possible if all remaining are done
                    continue
                now = time.monotonic()
                wait_for = None
                if hard:
                    wait_for = max(0.0, min(w.task[1] + hard for w in busy) - now)
                ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], wait_for))
                now = time.monotonic()
                for w in busy:
                    i, start = w.task
                    if w.conn in ready:
                        try:
                            index, out, secs = w.conn.recv()
                        except (EOFError, OSError, ValueError):
                            out = None
                        else:
                            w.task = None
                            w.tasks += 1
                            done[index] = out[1] if out[0] == "ok" else TaskFailure(out[0], out[1], secs)
                            if out[0] == "timeout":
                                self.timeouts += 1
                            # recycled after max_tasks, after an interrupted task, or if it is dying
                            if w.tasks >= self.max_tasks or out[0] != "ok" or not w.process.is_alive():
                                self._retire(w, kill=False)
                                idle.append(self._spawn())
                            else:
                                idle.append(w)
                            continue
                    if w.conn in ready or w.process.sentinel in ready:
                        # died while working (crash, abort, OOM kill) or sent garbage
                        w.process.join(1)
                        code = w.process.exitcode
                        self.crashes += 1
                        done[i] = TaskFailure("crash", _exit_text(code), now - start)
                        w.task = None
                        self._retire(w, kill=True)
                        idle.append(self._spawn())
                    elif hard and now - start >= hard:
                        self.timeouts += 1
                        done[i] = TaskFailure("timeout", f"stopped after {now - start:.1f} s", now - start)
                        w.task = None
                        self._retire(w, kill=True)
                        idle.append(self._spawn())
        finally:
            self.close()

    def close(self) -> None:
        for w in list(self._pool):
            self._retire(w, kill=w.task is not None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _exit_text(code: int | None) -> str:
    if code is None:
        return "the reader process stopped responding"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"the reader process was stopped by signal {name}"
    return f"the reader process exited with code {code}"


def run_inline(func: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[int, Any, Any]]:
    """The same interface without worker processes (no limits): for debugging and tiny inputs."""
    for i, item in enumerate(items):
        t0 = time.perf_counter()
        try:
            yield i, item, func(item)
        except MemoryError:
            yield i, item, TaskFailure("memory", "out of memory", time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001
            yield i, item, TaskFailure("error", f"{type(exc).__name__}: {exc}"[:300], time.perf_counter() - t0)
