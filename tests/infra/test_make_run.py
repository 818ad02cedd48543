"""`make run` shows the whole product: with Redis, the web server, a Celery worker and
beat under one command (honcho + Procfile); without, one line saying so and the web
server alone. Either way the admin's login page names the development login, and
Ctrl-C stops everything.

Each case runs the real `make run` on a free port with its own SQLite file.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services import free_port, redis_url_for_tests

ROOT = Path(__file__).resolve().parents[2]
CLOSED_REDIS = "redis://127.0.0.1:1/0"


def test_the_procfile_names_web_worker_and_beat():
    lines = (ROOT / "Procfile").read_text().splitlines()
    processes = dict(line.split(":", 1) for line in lines if re.match(r"^[a-z]+:", line))
    assert set(processes) == {"web", "worker", "beat"}
    assert "runserver" in processes["web"]
    assert "celery -A config worker" in processes["worker"]
    assert "celery -A config beat" in processes["beat"]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


class Run:
    def __init__(self, process: subprocess.Popen, log: Path, base: str) -> None:
        self.process, self.log, self.base = process, log, base

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, predicate, what: str, timeout: float = 240) -> None:
        """Until ``predicate()``; fails on timeout, or if make exits while still running."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make run: {what} did not happen:\n{self.output[-4000:]}")
            time.sleep(0.5)


@contextmanager
def make_run(tmp_path: Path, redis_url: str) -> Iterator[Run]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CACHE_URL="locmemcache://",
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run", f"RUN_ADDR=127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's job
        )
    run = Run(process, log, f"http://127.0.0.1:{port}")
    try:
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the job
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_with_redis_it_starts_web_worker_and_beat_and_ctrl_c_stops_all(tmp_path):
    with make_run(tmp_path, redis_url_for_tests()) as run:
        run.wait_for(lambda: get(run.base + "/livez")[0] == 200, "the web server answering")
        run.wait_for(lambda: re.search(r"worker\.1 .*ready\.", run.output), "the worker ready")
        run.wait_for(lambda: "beat: Starting" in run.output, "beat starting")
        status, login_page = get(run.base + "/admin/login/")
        assert status == 200
        assert "<strong>admin</strong> / <strong>admin</strong>" in login_page

        os.killpg(run.process.pid, signal.SIGINT)
        run.process.wait(timeout=60)
        deadline = time.monotonic() + 30
        while not group_is_gone(run.process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert group_is_gone(run.process.pid), "web, worker or beat outlived Ctrl-C"


def test_without_redis_it_says_so_in_one_line_and_serves_the_web_only(tmp_path):
    with make_run(tmp_path, CLOSED_REDIS) as run:
        run.wait_for(lambda: get(run.base + "/livez")[0] == 200, "the web server answering")
        notes = [line for line in run.output.splitlines() if "No Celery broker answers" in line]
        assert len(notes) == 1
        assert "starting the web server only" in notes[0]
        assert "worker.1" not in run.output and "beat.1" not in run.output
        assert "Created the development admin login admin / admin" in run.output
