"""The periodic admission re-check of a process's staff and team sockets, in one batch.

A staff or team member's socket closes once its admission no longer holds (session ended,
invitation withdrawn, account demoted, grant expired), even when the broadcast saying so was lost.
Asking the database once per socket every few seconds cost the relay a fifth of its CPU at 200
sessions (a thread hop and a query each, docs/benchmarks-relay.md); so each event loop keeps one
sweeper that asks about all of its sockets together, never per frame.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from live import services as live

logger = logging.getLogger(__name__)


class Admitted(Protocol):
    """A socket whose admission is re-checked: a staff seat or a team member's participant."""

    closed: bool

    def admission_seat(self) -> live.StaffSeat | int | None:
        """(session, user, participant) for staff, the participant id for a team member, or
        ``None`` while there is nothing to check (not admitted yet, or already ended)."""

    async def admission_checked(self, reason: str, participant_id: int | None) -> None:
        """``reason`` is ``""`` while admitted; a staff seat may come back with a new participant."""


class Sweeper:
    """Every admitted socket of one event loop, re-checked together every
    ``COBROWSE_ADMISSION_RECHECK_SECONDS`` (±25 %)."""

    def __init__(self) -> None:
        self.sockets: set[Admitted] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, socket: Admitted) -> None:
        self.sockets.add(socket)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, socket: Admitted) -> None:
        self.sockets.discard(socket)

    async def _run(self) -> None:
        while self.sockets:
            base = settings.COBROWSE_ADMISSION_RECHECK_SECONDS
            await asyncio.sleep(base * random.uniform(0.75, 1.25))  # noqa: S311 - spreading, not secrecy
            await self.sweep()

    async def sweep(self) -> None:
        """One re-check of every socket; a database hiccup keeps them all until the next one."""
        staff: list[tuple[Admitted, live.StaffSeat]] = []
        team: list[tuple[Admitted, int]] = []
        for socket in list(self.sockets):
            seat = None if socket.closed else socket.admission_seat()
            if isinstance(seat, tuple):
                staff.append((socket, seat))
            elif seat is not None:
                team.append((socket, seat))
        if not staff and not team:
            return
        try:
            staff_answers, team_answers = await database_sync_to_async(live.admissions)(
                [seat for _, seat in staff], [pid for _, pid in team]
            )
        except Exception:
            logger.warning("could not re-check the admission of %d sockets", len(staff) + len(team))
            return
        answers = [
            *((socket, reason, pid) for (socket, _), (reason, pid) in zip(staff, staff_answers, strict=True)),
            *((socket, reason, pid) for (socket, pid), reason in zip(team, team_answers, strict=True)),
        ]
        for socket, reason, pid in answers:
            if socket in self.sockets and not socket.closed:
                try:
                    await socket.admission_checked(reason, pid)
                except Exception:  # one socket's failure to close must not stop the others' checks
                    logger.exception("a socket failed to act on its admission re-check")


_sweepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Sweeper] = weakref.WeakKeyDictionary()


def sweeper() -> Sweeper:
    """The running event loop's sweeper."""
    loop = asyncio.get_running_loop()
    if loop not in _sweepers:
        _sweepers[loop] = Sweeper()
    return _sweepers[loop]


def watch(socket: Admitted) -> None:
    sweeper().add(socket)


def unwatch(socket: Admitted) -> None:
    sweeper().discard(socket)
