"""The expiry timer: on CERTGATE_EXPIRY_SCHEDULE (an app-setting binding expression, NCRONTAB),
reports the certificates that crossed a warning threshold; the work is shared/expiry.py's."""

import logging

import azure.functions as func

from functions.runtime import SERVICES

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger("certgate.expiry")


@bp.timer_trigger(schedule="%CERTGATE_EXPIRY_SCHEDULE%", arg_name="timer", run_on_startup=False)
def expiry_report(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.info("expiry report: the run is past due")
    reported = SERVICES.get().expiry.run()
    log.info("expiry report done: %s warning(s)", len(reported))
