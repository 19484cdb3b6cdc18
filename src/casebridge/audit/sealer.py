"""Sealing off the request path: one thread per process chains what its requests committed.

A request's events are durable when its transaction commits (``audit_record``); chaining
them (``services.seal_pending``) is a short transaction of its own that holds the chain
head's lock. On a PostgreSQL server that transaction's round trips cost a write request
about as much as the write itself (bench/audit.py). With ``AUDIT_SEAL_IN_BACKGROUND``
the request only wakes this process's sealer thread and answers; the thread seals
everything pending in one transaction per wake-up, so under load one seal covers the
events of many requests.

Nothing is weaker for it: the events are committed before the thread is woken, the chain
is the same, and an event whose seal never ran (the process was killed first) stays
pending until the next seal of any process, the worker's checkpoint or ``audit verify``
(docs/operations.md, "Audit chain").
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)
EXIT_WAIT = 5.0  # seconds a process waits at exit for its last seal
IDLE_CHECK = 60.0  # seconds without a pass after which the connection is checked first


class BackgroundSealer:
    """Wake a daemon thread that runs ``seal``; started lazily in each process (after a
    fork a process starts its own), restarted if it died."""

    def __init__(self, seal: Callable[[], object]):
        self._seal = seal
        self._guard = threading.Condition()
        self._asked = 0  # wake-ups asked for
        self._done = 0  # wake-ups covered by a finished pass
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._exit_hook = False
        self._stopping = False

    def wake(self) -> None:
        with self._guard:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._asked = self._done = 0
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
                self._thread.start()
                if not self._exit_hook:  # a command that ends at once still seals its events
                    atexit.register(self.stop, EXIT_WAIT)
                    self._exit_hook = True
            self._asked += 1
            self._guard.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until every wake-up so far is covered by a finished pass (tests, shutdown)."""
        with self._guard:
            return self._guard.wait_for(lambda: self._done >= self._asked, timeout=timeout)

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the passes asked for, close the thread's connection and end the thread
        (at exit, and in tests); the next ``wake`` starts a new one."""
        with self._guard:
            thread = self._thread
            if thread is None or self._pid != os.getpid():
                return True
            self._stopping = True
            self._guard.notify_all()
        thread.join(timeout)
        with self._guard:
            self._stopping = False
            if not thread.is_alive():
                self._thread = None
            return not thread.is_alive()

    def _seal_once_more_on_a_lost_connection(self) -> None:
        """Seal; if the server dropped the thread's connection meanwhile (a restart, a
        failover, an operator ending sessions), connect again and seal once more, as a
        request would on its next connection."""
        try:
            self._seal()
        except (InterfaceError, OperationalError):
            connection.close()
            logger.warning("audit: the sealer's database connection was lost; connecting again")
            self._seal()

    def _run(self) -> None:
        # The thread keeps its own connection between passes (a connection per pass would
        # cost more than the seal); one idle for a while is checked before it is used.
        last = 0.0
        while True:
            with self._guard:
                self._guard.wait_for(lambda: self._asked > self._done or self._stopping)
                if self._asked <= self._done:  # stopping, nothing left to seal
                    connection.close()
                    return
                covered = self._asked  # wake-ups before this pass: their events are committed
            try:
                idle = time.monotonic() - last > IDLE_CHECK
                if idle and connection.connection is not None and not connection.is_usable():
                    connection.close()
                self._seal_once_more_on_a_lost_connection()
            except Exception:
                # Logged without content (ids and hashes only are in the chain); what is
                # pending stays pending for the next pass, the worker or ``audit verify``.
                logger.exception("audit: the background seal failed")
                connection.close()  # a broken connection is opened again on the next pass
            last = time.monotonic()
            with self._guard:
                self._done = max(self._done, covered)
                self._guard.notify_all()
