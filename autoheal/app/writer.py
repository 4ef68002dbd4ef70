"""The receiver's one store thread, with a bound on each call.

SQLite takes one writer at a time, so the receiver queues its writes on a single thread
(autoheal/app/receiver.py). A database that is down fails a call at once (StoreUnavailable); one
that stalls would leave the call, and every request queued behind it, waiting for as long as the
client does. Here each call has a deadline: past it the call is cut (Database.interrupt), the
request gets StoreUnavailable (503 with Retry-After), and while a cut call is still unwinding the
next requests are refused at once instead of queueing behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from autoheal.store.database import Database, StoreUnavailable

T = TypeVar("T")


class Writer:
    def __init__(self, database: Database, *, timeout: float) -> None:
        self.database = database
        self.timeout = timeout
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoheal-store")
        self.overdue: asyncio.Future[Any] | None = None  # a call past its deadline, still unwinding

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Any:
        """For callers on other threads (the outbox): the plain future, unbounded."""
        return self.pool.submit(self._call, fn, *args, **kwargs)

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.overdue is not None and not self.overdue.done():
            raise StoreUnavailable("the database stalled on an earlier call; it is being cut")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, partial(self._call, fn, *args, **kwargs))
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=self.timeout)
        except TimeoutError:
            self.overdue = future
            future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: no warning
            self.database.interrupt()
            raise StoreUnavailable(f"the database did not answer within {self.timeout:g}s") from None

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)
