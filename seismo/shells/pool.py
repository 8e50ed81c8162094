"""Worker processes with affinity: each task goes to a chosen worker, which keeps state.

``seismo detect`` reads a station's chunk in one worker and later asks the same
worker for amplitude series of that chunk, so the waveforms stay where they
were read and never cross a process boundary. A :class:`WorkerPool` of ``n``
workers builds one state object per worker (``factory(*args)``) and runs
``state.<method>(*args)`` for each task on the worker the task names.

* ``n == 1`` runs everything in the calling process (no subprocess): the same
  state class, the same calls, one after another.
* Workers are started with ``fork`` where the platform has it (no re-import; the
  parent's loaded inventory and models are shared copy-on-write), else ``spawn``.
* Workers ignore SIGINT: Ctrl-C reaches the parent, which closes the pool; a
  worker whose parent died sees its pipe close and exits. :meth:`WorkerPool.close`
  asks each worker to stop, then terminates the ones still running after
  ``stop_timeout_s`` - nothing started here outlives the pool.
* A task that raises returns a :class:`TaskError` (the exception text and
  traceback) instead of stopping the others; a worker that died is restarted
  for the next batch and its unfinished tasks return a :class:`TaskError`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import signal
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seismo.boundary import boundary
from seismo.errors import SeismoError

log = logging.getLogger(__name__)


class WorkerError(SeismoError):
    """A worker process could not be started or died."""


@dataclass(frozen=True)
class Task:
    """``method(*args)`` on the state of worker ``worker`` (an index, taken modulo the size)."""

    worker: int
    method: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class TaskError:
    """What a failed task returns: the exception's type and text, and where it happened."""

    task: Task
    message: str
    traceback: str = ""

    def __str__(self) -> str:
        return f"{self.task.method}: {self.message}"


def _serve(conn: Any, factory: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """The worker loop: build the state, then answer ``(method, args)`` messages."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and closes us
    try:
        state = factory(*args)
    except BaseException as exc:  # report any start-up failure, then stop
        conn.send(("init-error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        return
    conn.send(("ready", None, ""))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if msg is None:
            return
        method, margs = msg
        # a failure goes back to the parent as a TaskError, which reports it
        with boundary(method, expected=(Exception,), level=None) as failure:
            out = ("ok", getattr(state, method)(*margs), "")
        if failure:
            out = ("err", failure.typed_reason, failure.traceback)
        try:
            conn.send(out)
        except (BrokenPipeError, OSError):
            return


class _Process:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, mp: Any, factory: Callable[..., Any], args: tuple[Any, ...], name: str):
        self.conn, child = mp.Pipe(duplex=True)
        self.proc = mp.Process(target=_serve, args=(child, factory, args), name=name, daemon=True)
        self.proc.start()
        child.close()
        try:
            kind, text, tb = self.conn.recv()
        except EOFError:
            self.stop(0.0)
            raise WorkerError(f"worker {name} died while starting") from None
        if kind != "ready":
            self.stop(0.0)
            raise WorkerError(f"worker {name} failed to start: {text}\n{tb}")

    def stop(self, timeout_s: float) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.proc.join(timeout_s)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class WorkerPool:
    """``n`` workers, each with the state ``factory(*args)``; see the module docstring."""

    def __init__(
        self,
        n: int,
        factory: Callable[..., Any],
        args: tuple[Any, ...] = (),
        *,
        name: str = "seismo-worker",
        stop_timeout_s: float = 10.0,
    ) -> None:
        if n < 1:
            raise WorkerError(f"a worker pool needs at least 1 worker, got {n}")
        self.n = n
        self.factory, self.args, self.name = factory, args, name
        self.stop_timeout_s = stop_timeout_s
        self._local: Any = None
        self._procs: list[_Process | None] = []
        if n == 1:
            self._local = factory(*args)
            return
        methods = multiprocessing.get_all_start_methods()
        self._mp = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        try:
            for i in range(n):
                self._procs.append(self._start(i))
        except BaseException:
            self.close()
            raise

    def _start(self, i: int) -> _Process:
        return _Process(self._mp, self.factory, self.args, f"{self.name}-{i}")

    @property
    def pids(self) -> list[int]:
        """Process ids of the worker processes (empty when running in-process)."""
        return [p.proc.pid for p in self._procs if p is not None and p.proc.pid is not None]

    def run(self, tasks: Sequence[Task]) -> list[Any]:
        """Run ``tasks``; results (or :class:`TaskError`) in task order.

        Each worker runs its own tasks one after another, in the order given; the
        workers run in parallel.
        """
        results: list[Any] = [None] * len(tasks)
        if self._local is not None:
            for k, t in enumerate(tasks):
                # same contract as a worker process
                with boundary(t.method, expected=(Exception,), level=None) as failure:
                    results[k] = getattr(self._local, t.method)(*t.args)
                if failure:
                    results[k] = TaskError(t, failure.typed_reason, failure.traceback)
            return results
        queues: dict[int, deque[int]] = {}
        for k, t in enumerate(tasks):
            queues.setdefault(t.worker % self.n, deque()).append(k)
        busy: dict[Any, tuple[int, int]] = {}  # connection -> (worker, task index)

        def send_next(w: int) -> None:
            proc = self._procs[w]
            while queues[w]:
                k = queues[w].popleft()
                if proc is None:
                    results[k] = TaskError(tasks[k], f"worker {self.name}-{w} is not running")
                    continue
                try:
                    proc.conn.send((tasks[k].method, tasks[k].args))
                except (BrokenPipeError, OSError):
                    results[k] = TaskError(tasks[k], f"worker {self.name}-{w} died")
                    self._lost(w)
                    proc = self._procs[w]
                    continue
                busy[proc.conn] = (w, k)
                return

        for w in list(queues):
            send_next(w)
        while busy:
            for ready in multiprocessing.connection.wait(list(busy)):
                w, k = busy.pop(ready)
                conn: Any = ready
                try:
                    kind, value, tb = conn.recv()
                except (EOFError, OSError):
                    results[k] = TaskError(
                        tasks[k], f"worker {self.name}-{w} died while running it"
                    )
                    self._lost(w)
                else:
                    results[k] = value if kind == "ok" else TaskError(tasks[k], value, tb)
                send_next(w)
        return results

    def _lost(self, w: int) -> None:
        """Worker ``w`` died: clean it up and start a fresh one (its state is lost)."""
        proc = self._procs[w]
        log.error("worker %s-%d died (exit code %s); starting a new one", self.name, w,
                  None if proc is None else proc.proc.exitcode)
        if proc is not None:
            proc.stop(0.0)
        self._procs[w] = None
        try:
            self._procs[w] = self._start(w)
        except WorkerError as exc:
            log.error("%s", exc)

    def close(self, *, wait: bool = True) -> None:
        """Stop every worker (see the module docstring); safe to call twice.

        ``wait=False`` (after an error or Ctrl-C) terminates workers at once instead of
        letting them finish the task they are running.
        """
        for i, p in enumerate(self._procs):
            if p is not None:
                p.stop(self.stop_timeout_s if wait else 0.0)
                self._procs[i] = None
        self._local = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(wait=exc_type is None)
