"""The engine worker thread: jobs in, events out. Plain threading and callbacks, no Qt.

Jobs (training, offline renders, exports) run one at a time, in submission order, on one worker thread.
A job is a function whose first argument is a JobContext: it reports progress, emits custom events
(preview images, metrics) and checks for cancellation through it. Every outcome comes back as an event;
an exception in a job becomes JobFailed and the worker carries on with the next job.

on_event is called on the worker thread, and on the thread that calls cancel() or shutdown() for jobs
that never started, so it must be thread-safe (the studio re-emits each event as a Qt signal).
"""
from __future__ import annotations

import collections
import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.cancel import Cancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    job_id: int


@dataclass(frozen=True)
class JobStarted(Event):
    name: str


@dataclass(frozen=True)
class JobProgress(Event):
    fraction: float  # 0..1
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobEvent(Event):
    """A job-specific event, e.g. kind="preview" with data={"image": ...}."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobFinished(Event):
    result: Any = None


@dataclass(frozen=True)
class JobCancelled(Event):
    pass


@dataclass(frozen=True)
class JobFailed(Event):
    error: str  # "ExceptionType: message"
    traceback: str


EventCallback = Callable[[Event], None]


class JobContext:
    """What a running job sees of the session: its id and name, progress and event reporting, and
    cooperative cancellation (a job stops only where it calls check_cancelled() or reads cancelled)."""

    def __init__(self, job_id: int, name: str, emit_event: EventCallback) -> None:
        self.job_id = job_id
        self.name = name
        self._emit_event = emit_event
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise Cancelled if this job was asked to stop."""
        if self._cancel.is_set():
            raise Cancelled(f"job {self.job_id} ({self.name}) cancelled")

    def progress(self, fraction: float, message: str = "", **metrics: Any) -> None:
        """Report progress (fraction clamped to 0..1) with an optional message and named metrics."""
        self._emit_event(JobProgress(self.job_id, min(max(float(fraction), 0.0), 1.0), message, metrics))

    def emit(self, kind: str, **data: Any) -> None:
        """Send a job-specific event (e.g. a preview image) to the session's listener."""
        self._emit_event(JobEvent(self.job_id, kind, data))


@dataclass
class _Job:
    ctx: JobContext
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class Session:
    """One engine worker thread with a FIFO job queue.

        session = Session(on_event=print)
        session.start()
        job = session.submit("export", export_fn, path)   # export_fn(ctx, path)
        session.cancel(job)
        session.shutdown()

    Also a context manager (start on enter, shutdown on exit).
    """

    def __init__(self, on_event: EventCallback) -> None:
        self._on_event = on_event
        self._lock = threading.Condition()
        self._queue: collections.deque[_Job] = collections.deque()
        self._current: _Job | None = None
        self._ids = itertools.count(1)
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker thread. Jobs submitted before start() wait in the queue."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("Session already started")
            # daemon: a forgotten shutdown() must not keep the process alive after the GUI quits
            self._thread = threading.Thread(target=self._run, name="headsplat-engine", daemon=True)
            self._thread.start()

    def submit(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
        """Queue fn(ctx, *args, **kwargs) to run after the jobs before it. Returns its job id."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("Session is shut down; it takes no more jobs")
            job = _Job(JobContext(next(self._ids), name, self._emit), fn, args, kwargs)
            self._queue.append(job)
            self._lock.notify()
        return job.ctx.job_id

    def cancel(self, job_id: int | None = None) -> bool:
        """Cancel a job: the running one when job_id is None. A queued job is removed at once (its
        JobCancelled is emitted here); a running job is asked to stop. False if there was no such job."""
        with self._lock:
            current = self._current
            if current is not None and job_id in (None, current.ctx.job_id):
                current.ctx._cancel.set()
                return True
            queued = next((j for j in self._queue if j.ctx.job_id == job_id), None)
            if queued is None:
                return False
            self._queue.remove(queued)
        self._emit(JobCancelled(queued.ctx.job_id))  # outside the lock: the listener may call back in
        return True

    @property
    def running(self) -> bool:
        """True from start() until the worker thread has exited after shutdown()."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def busy(self) -> bool:
        """True while a job runs or waits."""
        with self._lock:
            return self._current is not None or bool(self._queue)

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs, drop the queued ones (JobCancelled each), ask the running one to stop and,
        with wait, join the worker (up to timeout seconds)."""
        with self._lock:
            self._stopping = True
            dropped = list(self._queue)
            self._queue.clear()
            if self._current is not None:
                self._current.ctx._cancel.set()
            self._lock.notify_all()
        for job in dropped:
            self._emit(JobCancelled(job.ctx.job_id))
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> "Session":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _emit(self, event: Event) -> None:
        # A broken listener must not kill the worker or turn a finished job into a failed one.
        try:
            self._on_event(event)
        except Exception:
            log.exception("session event listener failed on %r", event)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job = self._current = self._queue.popleft()
            try:
                self._execute(job)
            finally:
                with self._lock:
                    self._current = None

    def _execute(self, job: _Job) -> None:
        ctx = job.ctx
        if ctx.cancelled:  # cancelled between leaving the queue and starting
            self._emit(JobCancelled(ctx.job_id))
            return
        self._emit(JobStarted(ctx.job_id, ctx.name))
        try:
            result = job.fn(ctx, *job.args, **job.kwargs)
        except Cancelled:
            self._emit(JobCancelled(ctx.job_id))
        except Exception as e:
            self._emit(JobFailed(ctx.job_id, f"{type(e).__name__}: {e}", traceback.format_exc()))
        else:
            self._emit(JobFinished(ctx.job_id, result))
