"""The daemon threads a :class:`~kg.evaluation.thread_evaluator.ThreadEvaluator` runs its
evaluations in: at most ``limit`` at once, the rest queued (each waits within its own deadline).

Daemon threads, not a :class:`concurrent.futures.ThreadPoolExecutor`: an executor's threads are
joined at exit, and a runaway query's thread must never be waited for (its worker exits with it).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

IDLE = 60.0  # seconds a thread waits for work before it ends


class Job(Protocol):
    """What a thread runs (:class:`~kg.evaluation.thread_evaluator.Evaluation` is one)."""

    abandoned: bool  # a runaway: given up while running, its thread forgotten by the pool
    forget: Callable[[], None]  # set by the pool: call it to give the thread's place to another

    def run(self) -> None: ...


class DaemonThreads:
    """Up to ``limit`` daemon threads that run evaluations in turn; a runaway's thread is forgotten
    (it exits once its evaluation ends) and its place taken by a fresh one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._jobs: deque[Job] = deque()
        self._lock = threading.Condition()
        self._idle = 0
        self._count = 0

    def submit(self, job: Job) -> None:
        job.forget = self._forget
        with self._lock:
            self._jobs.append(job)
            if self._idle >= len(self._jobs):
                self._lock.notify()
                return
            if self._count >= self.limit:
                return  # it waits for a thread, within its deadline
            self._count += 1
        threading.Thread(target=self._serve, daemon=True, name="kg-evaluation").start()

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._idle += 1
                    woken = self._lock.wait(IDLE)
                    self._idle -= 1
                    if not woken and not self._jobs:
                        self._count -= 1  # idle for long: an app built and dropped keeps no threads
                        return
                job = self._jobs.popleft()
            job.run()
            if job.abandoned:
                return  # its place went to a fresh thread when it was given up

    def _forget(self) -> None:
        with self._lock:
            self._count -= 1
