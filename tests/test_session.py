"""The engine worker thread: order, progress, failure, cancellation, shutdown. Every wait has a timeout
and waits for a specific event; nothing sleeps and hopes."""
from __future__ import annotations

import queue
import threading

import pytest

from engine.cancel import Cancelled
from engine.session import (Event, JobCancelled, JobContext, JobEvent, JobFailed, JobFinished, JobProgress,
                            JobStarted, Session)

TIMEOUT = 10.0


class Recorder:
    """Collects events from the worker thread; next_until() waits for a given kind of event."""

    def __init__(self) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.put(event)

    def next_until(self, kind: type, job_id: int | None = None) -> Event:
        while True:
            event = self.events.get(timeout=TIMEOUT)
            self.seen.append(event)
            if isinstance(event, kind) and job_id in (None, event.job_id):
                return event

    def drain(self) -> list[Event]:
        """Everything received so far (call once the worker has stopped)."""
        while not self.events.empty():
            self.seen.append(self.events.get_nowait())
        return self.seen

    def of(self, job_id: int) -> list[Event]:
        return [e for e in self.seen if e.job_id == job_id]


def blocker(ctx: JobContext, started: threading.Event, release: threading.Event) -> str:
    """Signals it runs, then waits to be released or cancelled."""
    started.set()
    while not release.wait(0.01):
        ctx.check_cancelled()
    return "released"


@pytest.fixture
def session():
    rec = Recorder()
    s = Session(rec)
    s.start()
    yield s, rec
    s.shutdown(timeout=TIMEOUT)


def test_jobs_run_in_order_with_progress(session):
    s, rec = session
    order: list[str] = []

    def job(ctx: JobContext, label: str, steps: int = 3) -> str:
        order.append(label)
        for i in range(steps):
            ctx.progress((i + 1) / steps, f"step {i + 1}", loss=1.0 / (i + 1))
        ctx.emit("preview", image=label)
        return label.upper()

    ids = [s.submit(label, job, label) for label in ("a", "b", "c")]
    assert ids == sorted(ids) and len(set(ids)) == 3
    results = [rec.next_until(JobFinished, job_id).result for job_id in ids]
    assert results == ["A", "B", "C"] and order == ["a", "b", "c"]

    first = rec.of(ids[0])
    assert first[0] == JobStarted(ids[0], "a")
    progress = [e for e in first if isinstance(e, JobProgress)]
    assert [p.fraction for p in progress] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert progress[-1].message == "step 3" and progress[-1].metrics == {"loss": pytest.approx(1 / 3)}
    assert JobEvent(ids[0], "preview", {"image": "a"}) in first
    started = [e.job_id for e in rec.seen if isinstance(e, JobStarted)]
    assert started == ids  # one job at a time: each finishes before the next starts
    finished_at = [i for i, e in enumerate(rec.seen) if isinstance(e, JobFinished)]
    started_at = [i for i, e in enumerate(rec.seen) if isinstance(e, JobStarted)]
    assert all(f < s for f, s in zip(finished_at, started_at[1:]))


def test_failure_is_reported_and_worker_continues(session):
    s, rec = session

    def broken(ctx: JobContext) -> None:
        raise ZeroDivisionError("no splats to divide by")

    bad = s.submit("broken", broken)
    good = s.submit("after", lambda ctx: 42)
    failed = rec.next_until(JobFailed, bad)
    assert failed.error == "ZeroDivisionError: no splats to divide by"
    assert "in broken" in failed.traceback and "ZeroDivisionError" in failed.traceback
    assert rec.next_until(JobFinished, good).result == 42


def test_cancel_running_job(session):
    s, rec = session
    started, release = threading.Event(), threading.Event()
    job = s.submit("train", blocker, started, release)
    assert started.wait(TIMEOUT)
    assert s.cancel() is True  # no id: the running job
    rec.next_until(JobCancelled, job)
    assert not any(isinstance(e, (JobFinished, JobFailed)) for e in rec.of(job))
    assert rec.next_until(JobFinished, s.submit("next", lambda ctx: "ok")).result == "ok"


def test_cancel_queued_job(session):
    s, rec = session
    started, release = threading.Event(), threading.Event()
    running = s.submit("first", blocker, started, release)
    ran: list[str] = []
    queued = s.submit("second", lambda ctx: ran.append("second"))
    last = s.submit("third", lambda ctx: "third")
    assert started.wait(TIMEOUT)

    assert s.cancel(queued) is True
    rec.next_until(JobCancelled, queued)  # at once, while the first job still runs
    assert s.cancel(queued) is False  # already gone
    assert s.cancel(12345) is False
    release.set()
    assert rec.next_until(JobFinished, running).result == "released"
    assert rec.next_until(JobFinished, last).result == "third"
    assert ran == [] and not any(isinstance(e, JobStarted) for e in rec.of(queued))


def test_job_may_raise_cancelled_itself(session):
    s, rec = session

    def gives_up(ctx: JobContext) -> None:
        raise Cancelled("nothing to do")

    rec.next_until(JobCancelled, s.submit("gives up", gives_up))


def test_broken_listener_does_not_kill_worker():
    done = threading.Event()

    def listener(event: Event) -> None:
        if isinstance(event, JobFinished) and event.result == "second":
            done.set()
        raise RuntimeError("listener bug")

    with Session(listener) as s:
        s.submit("first", lambda ctx: "first")
        s.submit("second", lambda ctx: "second")
        assert done.wait(TIMEOUT)


def test_shutdown_cancels_and_joins():
    rec = Recorder()
    s = Session(rec)
    started, release = threading.Event(), threading.Event()
    running = s.submit("long", blocker, started, release)  # submitted before start: it waits
    queued = s.submit("never", lambda ctx: "never")
    s.start()
    assert started.wait(TIMEOUT)
    s.shutdown(wait=True, timeout=TIMEOUT)

    assert not s.running and not s.busy
    # the queued job is dropped by shutdown() on this thread, the running one stops on the worker:
    # their order is not defined, so look at both once the worker has been joined
    cancelled = {e.job_id for e in rec.drain() if isinstance(e, JobCancelled)}
    assert cancelled == {running, queued}
    assert not any(isinstance(e, (JobFinished, JobFailed)) for e in rec.seen)
    with pytest.raises(RuntimeError, match="shut down"):
        s.submit("late", lambda ctx: None)


def test_start_twice_is_an_error(session):
    s, _ = session
    with pytest.raises(RuntimeError, match="already started"):
        s.start()
