"""Timer triggers, as the Functions host runs them: each timerTrigger binding's schedule (a
`%NAME%` app-setting expression resolved from the environment) is a 6-field NCRONTAB (seconds
first, UTC); each occurrence is one invocation on a worker of the pool, with the timer input the
host sends. A run never overlaps the previous one of the same function (a late one is past due)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from croniter import croniter  # type: ignore[import-untyped]

from devhost.pool import WorkerPool

log = logging.getLogger("devhost.timers")
INVOKE_TIMEOUT_SECONDS = 600.0
_EXPRESSION = re.compile(r"%([^%]+)%")


@dataclass(frozen=True)
class Timer:
    name: str
    function_id: str
    binding: str
    schedule: str  # resolved


def resolve(expression: str, environ: Mapping[str, str]) -> str:
    """`%NAME%` -> the app setting's value; ValueError when a named setting is not set."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ValueError(f"the app setting {name} (in the schedule '{expression}') is not set")
        return environ[name]

    return _EXPRESSION.sub(value, expression)


def find_timers(functions: list[dict[str, Any]], environ: Mapping[str, str] | None = None) -> list[Timer]:
    """The timer functions of the worker's index; one whose schedule cannot be resolved or parsed
    is logged and left out (the Functions host refuses to run it too)."""
    env = os.environ if environ is None else environ
    timers = []
    for function in functions:
        for raw in function["raw_bindings"]:
            binding = json.loads(raw)
            if binding.get("type") != "timerTrigger":
                continue
            try:
                schedule = resolve(str(binding.get("schedule") or ""), env).strip()
                if len(schedule.split()) != 6 or not croniter.is_valid(schedule, second_at_beginning=True):
                    raise ValueError(f"'{schedule}' is not a 6-field NCRONTAB expression")
            except ValueError as exc:
                log.error("timer function %s not scheduled: %s", function["name"], exc)
                continue
            timers.append(Timer(function["name"], function["function_id"], binding["name"], schedule))
    return timers


def timer_input(schedule: str, last: datetime | None, next_run: datetime, past_due: bool) -> str:
    """The TypedData json the Functions host sends a timer function (azure.functions TimerRequest)."""
    return json.dumps(
        {
            "Schedule": {"AdjustForDST": True},
            "ScheduleStatus": None
            if last is None
            else {"Last": last.isoformat(), "Next": next_run.isoformat(), "LastUpdated": last.isoformat()},
            "IsPastDue": past_due,
        }
    )


class TimerRunner:
    def __init__(self, pool: WorkerPool, timers: list[Timer]) -> None:
        self._pool = pool
        self._timers = timers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for timer in self._timers:
            log.info("timer function %s: schedule '%s'", timer.name, timer.schedule)
            self._tasks.append(asyncio.create_task(self._run(timer)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, timer: Timer) -> None:
        """One loop per function: wait for the next occurrence, invoke, wait for the answer (so
        runs never overlap), then schedule from the time it finished."""
        last: datetime | None = None
        due = croniter(timer.schedule, datetime.now(UTC), second_at_beginning=True).get_next(datetime)
        while True:
            delay = (due - datetime.now(UTC)).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            following = croniter(timer.schedule, due, second_at_beginning=True).get_next(datetime)
            past_due = (datetime.now(UTC) - due).total_seconds() > 1.0
            await self._invoke(timer, timer_input(timer.schedule, last, following, past_due))
            last = due
            # The next occurrence after this run ended: those missed while it ran are skipped.
            due = croniter(timer.schedule, max(datetime.now(UTC), due), second_at_beginning=True).get_next(
                datetime
            )

    async def _invoke(self, timer: Timer, payload: str) -> None:
        invocation_id = str(uuid.uuid4())
        log.info("timer function %s: run %s started", timer.name, invocation_id)
        try:
            worker = await self._pool.pick()
            worker.open_calls += 1
            try:
                answer = await worker.request(
                    {
                        "op": "invoke",
                        "invocation_id": invocation_id,
                        "function_id": timer.function_id,
                        "binding": timer.binding,
                        "json": payload,
                    },
                    INVOKE_TIMEOUT_SECONDS,
                )
            finally:
                worker.open_calls -= 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            kind = type(exc).__name__
            log.error("timer function %s: run %s failed: %s: %s", timer.name, invocation_id, kind, exc)
            return
        if answer.get("ok"):
            log.info("timer function %s: run %s succeeded", timer.name, invocation_id)
        else:
            log.error("timer function %s: run %s failed: %s", timer.name, invocation_id, answer.get("error"))
