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
  `window` results wait in the parent, whatever the number of items;
- a dispatcher thread feeds the workers, so that a worker gets its next item as soon as it is done,
  even while the caller is busy with earlier results.

Workers are started with the "forkserver" method where available (fast, and safe with the parent's
threads), else "spawn". `func` and the items must be picklable.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator, Sequence

DEFAULT_TIMEOUT = 120.0          # seconds per file
DEFAULT_MEMORY = 2 * 1024 ** 3   # bytes of address space a worker may add to what it has at start
HARD_GRACE = 5.0                 # seconds after the soft limit before the worker is killed
SWITCH_INTERVAL = 0.0005         # GIL switch interval during an imap (see imap)
PREFETCH_MAX_BYTES = 48 * 1024   # an item is sent ahead of the one a worker is on only if this small (pipes hold 64 KB)


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
    try:
        conn.send(_READY)                   # started: the time limits count from here
    except (OSError, ValueError):
        return
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
        self.ready = False                      # until the process says it has started
        self.spawned = time.monotonic()
        self.tasks = 0
        # items sent and not answered yet, in order: [index, start time]; the first is running (it started
        # when the previous answer came, or when the process said it had started), the others wait
        self.inflight: deque[list] = deque()

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
                 start_method: str | None = None, preload: Sequence[str] = (), prefetch: int = 2):
        self.func = func
        self.workers = max(1, int(workers))
        self.timeout = timeout
        self.memory = memory
        self.max_tasks = max(1, int(max_tasks))
        self.window = window or self.workers * 3
        # items sent ahead to a worker: its next item is already there when it hands back a result
        self.prefetch = max(1, int(prefetch))
        method = start_method or ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        self.ctx = mp.get_context(method)
        if method == "forkserver" and preload:
            self.ctx.set_forkserver_preload(list(preload))
        self._pool: list[_Worker] = []
        self._run: _Run | None = None
        self._thread: threading.Thread | None = None

    def _spawn(self) -> _Worker:
        w = _Worker(self.ctx, self.func, self.memory, self.timeout)
        self._pool.append(w)
        return w

    def _retire(self, w: _Worker, kill: bool) -> None:
        if w in self._pool:
            self._pool.remove(w)
        w.kill() if kill else w.stop()

    def imap(self, items: Iterable[Any], *, keep: bool = False) -> Iterator[tuple[int, Any, Any]]:
        """Yield (index, item, result or TaskFailure) in input order.

        The workers are fed by a dispatcher thread (started here, before this returns): a worker gets
        its next item as soon as it hands back a result, whatever the caller is doing with the results
        meanwhile (its Python work releases the GIL every few milliseconds). At most `window` results
        wait for the caller, and `items` may be an iterator: it is read as the window moves on. The
        workers are stopped once every result is taken, unless `keep`: then the next imap (or close)
        finds them warm."""
        self._stop_dispatch()
        run = _Run(items)
        # the dispatcher needs the GIL for a moment at each result: while the caller computes, let it in
        # within half a millisecond rather than the default 5 ms (an idle worker costs more)
        sys.setswitchinterval(min(run.switch_interval, SWITCH_INTERVAL))
        self._run = run
        self._thread = threading.Thread(target=self._dispatch, args=(run,), name="salesxl-pool", daemon=True)
        self._thread.start()
        return self._consume(run, keep)

    def _consume(self, run: "_Run", keep: bool) -> Iterator[tuple[int, Any, Any]]:
        complete = False
        try:
            while True:
                x = run.results.get()
                if x is _DONE:
                    break
                if x is _FAILED:
                    raise run.error
                run.consumed += 1
                run.wake()
                yield x
            complete = True
        finally:
            if keep and complete:
                self._stop_dispatch()           # every worker idle: they stay for the next imap
            else:
                self.close()

    def _dispatch(self, run: "_Run") -> None:
        """The dispatcher thread: start the workers, hand out items, collect results and failures."""
        items = run.items                       # the items taken from the source so far
        pending: deque[int] = deque()           # taken, not sent yet (in order)
        done: dict[int, Any] = {}
        next_out = 0
        hard = (self.timeout + HARD_GRACE) if self.timeout else None
        packed: dict[int, bytes] = {}           # items pickled, not sent yet

        def take() -> bool:
            """One more item from the source (False once it is exhausted)."""
            if run.exhausted:
                return False
            try:
                item = next(run.source)
            except StopIteration:
                run.exhausted = True
                return False
            pending.append(len(items))
            items.append(item)
            return True

        for w in [w for w in self._pool if w.inflight or not w.process.is_alive()]:
            self._retire(w, kill=True)          # left over from an interrupted imap
        try:
            while len(items) < self.workers and take():
                pass
            for _ in range(min(self.workers, len(items)) - len(self._pool)):   # workers kept from earlier first
                if run.stop:
                    return
                self._spawn()

            def replace(w: _Worker, failed: int | None = None) -> None:
                # the worker goes (killed: it may hold items); what it held but had not started comes back
                queued = [t[0] for t in w.inflight if t[0] != failed]
                pending.extendleft(reversed(queued))
                w.inflight.clear()
                self._retire(w, kill=True)
                self._spawn()

            while not run.stop:
                while next_out in done:
                    run.results.put((next_out, items[next_out], done.pop(next_out)))
                    items[next_out] = None              # the caller has it now
                    next_out += 1
                if next_out >= len(items) and not take():
                    run.results.put(_DONE)
                    break
                # hand out items, the least loaded worker first, within the window and the recycling limit;
                # an item goes ahead of another only if it fits in the pipe (a send never blocks, so a
                # worker handing back a big result cannot be stuck behind it)
                while (pending or (len(items) < run.consumed + self.window and take())) \
                        and pending[0] < run.consumed + self.window:
                    i = pending[0]
                    data = packed.get(i)
                    if data is None:
                        data = packed[i] = _dumps((i, items[i]))
                    ahead = len(data) <= PREFETCH_MAX_BYTES
                    free = [w for w in self._pool if (not w.inflight or (ahead and len(w.inflight) < self.prefetch))
                            and w.tasks + len(w.inflight) < self.max_tasks]
                    if not free:
                        break
                    w = min(free, key=lambda w: len(w.inflight))
                    pending.popleft()
                    try:
                        w.conn.send_bytes(data)
                    except (OSError, ValueError):            # the worker died
                        pending.appendleft(i)
                        replace(w)
                        continue
                    del packed[i]
                    w.inflight.append([i, time.monotonic() if not w.inflight and w.ready else None])
                busy = [w for w in self._pool if w.inflight]
                now = time.monotonic()
                wait_for = None
                if hard and busy:
                    wait_for = max(0.0, min(_started(w) + hard for w in busy) - now)
                # nothing running: the caller is behind (window full); it wakes us when it takes a result
                ready = set(wait([run.wake_r] + [w.conn for w in busy] + [w.process.sentinel for w in busy],
                                 wait_for))
                if run.wake_r in ready:
                    run.drain()
                now = time.monotonic()
                for w in busy:
                    i = w.inflight[0][0]
                    start = _started(w)
                    if w.conn in ready:
                        try:
                            msg = w.conn.recv()
                            if msg == _READY and not w.ready:       # started: its first item starts now
                                w.ready = True
                                w.inflight[0][1] = now
                                continue
                            index, out, secs = msg
                        except (EOFError, OSError, ValueError, TypeError):
                            out = None
                        else:
                            if index == i:
                                w.inflight.popleft()
                                if w.inflight:
                                    w.inflight[0][1] = now      # the next one starts now
                                w.tasks += 1
                                done[index] = out[1] if out[0] == "ok" else TaskFailure(out[0], out[1], secs)
                                if out[0] != "ok" or not w.process.is_alive():
                                    replace(w)              # after an interrupted task, or if it is dying
                                elif w.tasks >= self.max_tasks and not w.inflight:
                                    self._retire(w, kill=False)     # recycled
                                    self._spawn()
                                continue
                            out = None                          # an answer to something else: garbage
                    if w.conn in ready or w.process.sentinel in ready:
                        # died while working (crash, abort, OOM kill) or sent garbage
                        w.process.join(1)
                        code = w.process.exitcode
                        done[i] = TaskFailure("crash", _exit_text(code), now - start)
                        replace(w, failed=i)
                    elif hard and now - start >= hard:
                        done[i] = TaskFailure("timeout", f"stopped after {now - start:.1f} s", now - start)
                        replace(w, failed=i)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            run.error = exc
            run.results.put(_FAILED)

    def _stop_dispatch(self) -> None:
        run, t = getattr(self, "_run", None), getattr(self, "_thread", None)
        self._run = self._thread = None
        if run is not None:
            run.stop = True
            run.wake()
            if t is not None and t is not threading.current_thread():
                t.join()
            run.close()
            sys.setswitchinterval(run.switch_interval)

    def close(self) -> None:
        self._stop_dispatch()
        for w in list(self._pool):
            self._retire(w, kill=bool(w.inflight))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


_FAILED = object()
_DONE = object()
_READY = "ready"            # a worker's first message


def _started(w: "_Worker") -> float:
    """When the item a worker is on started (its process's start while that is not done)."""
    start = w.inflight[0][1]
    return start if start is not None else w.spawned


def _dumps(obj) -> bytes:
    """What Connection.send writes (Connection.recv reads it back)."""
    from multiprocessing.reduction import ForkingPickler
    return bytes(ForkingPickler.dumps(obj))


class _Run:
    """One imap: the items, the ordered results handed to the caller, and a pipe to wake the
    dispatcher (when the caller takes a result, or to stop it)."""

    def __init__(self, items: Iterable[Any]):
        self.source = iter(items)
        self.exhausted = False
        self.items: list = []
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.consumed = 0
        self.stop = False
        self.error: BaseException | None = None
        self.switch_interval = sys.getswitchinterval()
        self.wake_r, self._wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self._wake_w, False)

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"w")
        except (BlockingIOError, OSError):      # full (it will be drained) or closed
            pass

    def drain(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        for fd in (self.wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.wake_r = self._wake_w = -1


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
