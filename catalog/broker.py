"""Is the Celery broker answering? A short check, so "Sync prices now" can fall back to
running the sync in the web process instead of queueing a task nobody will receive.

(The infra side may grow a project-wide helper in ``config/``; this one is small and
local to the catalog until then.)
"""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

from config.celery import app

log = logging.getLogger(__name__)

BROKER_ERRORS = (OperationalError, OSError, ConnectionError)


def broker_error(timeout: float = 1.0) -> str:
    """ "" when the broker accepts a connection within ``timeout`` seconds, else why not."""
    try:
        with app.connection_for_write(connect_timeout=timeout) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
    except BROKER_ERRORS as exc:
        log.warning("Celery broker unreachable: %s", exc)
        return str(exc) or exc.__class__.__name__
    return ""
