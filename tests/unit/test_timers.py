"""The local host's timer triggers: schedule expressions, the timer input, no overlapping runs;
and the warning-days setting."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequestConverter

from devhost.timers import Timer, TimerRunner, find_timers, resolve, timer_input
from shared.config import load_settings
from shared.errors import ConfigurationError
from tests.services import TEST_KEY_RING


def _functions(schedule: str) -> list[dict[str, Any]]:
    binding = {"type": "timerTrigger", "name": "timer", "direction": "IN", "schedule": schedule}
    return [{"name": "t", "function_id": "f1", "raw_bindings": [json.dumps(binding)]}]


def test_schedule_expression_resolved_from_the_settings() -> None:
    assert resolve("%S%", {"S": "0 0 6 * * *"}) == "0 0 6 * * *"
    with pytest.raises(ValueError, match="the app setting S "):
        resolve("%S%", {})
    assert find_timers(_functions("%S%"), {"S": "*/2 * * * * *"}) == [
        Timer("t", "f1", "timer", "*/2 * * * * *")
    ]
    assert find_timers(_functions("%S%"), {}) == []  # logged, not scheduled
    assert find_timers(_functions("0 6 * * *"), {}) == []  # five fields: not NCRONTAB


def test_timer_input_is_what_the_worker_converts() -> None:
    from datetime import UTC, datetime

    payload = timer_input("*/2 * * * * *", None, datetime.now(UTC), True)
    data = func.meta.Datum(type="json", value=payload)
    request = TimerRequestConverter.decode(data, trigger_metadata={})
    assert request.past_due is True


class _Worker:
    def __init__(self) -> None:
        self.open_calls = 0
        self.running = 0
        self.most = 0
        self.calls = 0

    async def request(self, message: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(2.2)  # longer than the one-second schedule
        self.running -= 1
        return {"ok": True}


class _Pool:
    def __init__(self) -> None:
        self.worker = _Worker()

    async def pick(self) -> _Worker:
        return self.worker


def test_runs_never_overlap() -> None:
    async def scenario() -> _Worker:
        pool = _Pool()
        runner = TimerRunner(pool, [Timer("t", "f1", "timer", "* * * * * *")])  # type: ignore[arg-type]
        runner.start()
        await asyncio.sleep(5)
        await runner.stop()
        return pool.worker

    worker = asyncio.run(scenario())
    assert worker.most == 1 and 2 <= worker.calls <= 3


def test_warning_days_setting() -> None:
    base = {"CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING}
    assert load_settings(base).expiry_warning_days == (30, 14, 7, 1)
    assert load_settings({**base, "CERTGATE_EXPIRY_WARNING_DAYS": " 7, 30,7 "}).expiry_warning_days == (30, 7)
    for bad in ("0", "x", "7,,1", "-1", "1.5"):
        with pytest.raises(ConfigurationError, match="CERTGATE_EXPIRY_WARNING_DAYS"):
            load_settings({**base, "CERTGATE_EXPIRY_WARNING_DAYS": bad})
