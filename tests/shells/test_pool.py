"""seismo.shells.pool: worker processes with affinity, errors, dead workers, clean stop."""

from __future__ import annotations

import os
import time

import pytest

from seismo.shells.pool import Task, TaskError, WorkerError, WorkerPool


class Counter:
    """A worker state: remembers what it was given (affinity is observable)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.seen: list[int] = []

    def add(self, k: int) -> tuple[str, int, list[int]]:
        self.seen.append(k)
        return self.tag, os.getpid(), list(self.seen)

    def fail(self, msg: str) -> None:
        raise ValueError(msg)

    def die(self) -> None:
        os._exit(3)


class BadStart:
    def __init__(self) -> None:
        raise RuntimeError("no inventory here")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive either
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("n", [1, 3])
def test_tasks_run_on_their_worker_in_order(n: int) -> None:
    with WorkerPool(n, Counter, ("x",)) as pool:
        out = pool.run([Task(k % n, "add", (k,)) for k in range(9)])
        pids = pool.pids
    assert [o[0] for o in out] == ["x"] * 9
    for w in range(n):
        mine = [o for k, o in enumerate(out) if k % n == w]
        assert len({o[1] for o in mine}) == 1  # one process per worker
        assert mine[-1][2] == [k for k in range(9) if k % n == w]  # state kept, in order
    if n == 1:
        assert pids == [] and out[0][1] == os.getpid()  # in-process
    else:
        assert len(set(pids)) == n and os.getpid() not in pids


@pytest.mark.parametrize("n", [1, 2])
def test_a_failing_task_returns_its_error_and_others_go_on(n: int) -> None:
    with WorkerPool(n, Counter, ("x",)) as pool:
        out = pool.run([Task(0, "add", (1,)), Task(0, "fail", ("bad station XX.ABC",)),
                        Task(0, "add", (2,))])
    assert isinstance(out[1], TaskError)
    assert "ValueError: bad station XX.ABC" in str(out[1]) and "Traceback" in out[1].traceback
    assert out[2][2] == [1, 2]


def test_a_dead_worker_is_replaced_and_its_task_reported() -> None:
    with WorkerPool(2, Counter, ("x",)) as pool:
        before = pool.pids
        out = pool.run([Task(0, "die"), Task(1, "add", (5,)), Task(0, "add", (6,))])
        after = pool.pids
        again = pool.run([Task(0, "add", (7,))])
    assert isinstance(out[0], TaskError) and "died" in out[0].message
    assert out[1][2] == [5]
    assert out[2][2] == [6]  # the new worker 0 (fresh state) ran the next task
    assert after[0] != before[0] and after[1] == before[1]
    assert again[0][2] == [6, 7]


def test_close_stops_every_worker() -> None:
    pool = WorkerPool(3, Counter, ("x",))
    pids = pool.pids
    assert all(_alive(p) for p in pids)
    pool.close()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)
    pool.close()  # twice is fine


def test_a_worker_that_cannot_start_is_an_error_naming_why() -> None:
    with pytest.raises(WorkerError, match="no inventory here"):
        WorkerPool(2, BadStart)
    with pytest.raises(WorkerError, match="at least 1"):
        WorkerPool(0, Counter, ("x",))
