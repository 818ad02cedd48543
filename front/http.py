"""The public pages' HTTP method rule: GET and HEAD, and a 405 for anything else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

View = TypeVar("View", bound=Callable[..., Any])


def safe_only(view: View) -> View:
    """Serve GET and HEAD; answer any other method with 405 and ``Allow: GET, HEAD``.

    Django's CSRF check runs in the middleware, before the view, so a POST to a page
    would get a 403 "CSRF verification failed" page instead of the 405 it deserves.
    The view is exempt from that check, which is safe because ``require_safe`` refuses
    every unsafe method before the view runs: nothing a forged request could reach
    changes state. Views that accept POST (the admin) keep the check.
    """
    return csrf_exempt(require_safe(view))
