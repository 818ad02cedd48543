"""A loopback stand-in for the Hugging Face Hub: the two endpoints ``catalog.hub`` calls
through ``huggingface_hub``.

* ``GET /api/models/<owner>/<name>?blobs=true`` (``HfApi.model_info(files_metadata=True)``):
  ``{"id", "sha", "siblings": [{"rfilename", "size", "lfs": {"size"}}]}``, or whatever
  reply a test queues for the repository (404 with ``X-Error-Code: RepoNotFound``, 429
  with ``Retry-After``, malformed JSON, a huge listing ...).
* ``GET /<owner>/<name>/resolve/<revision>/<path>`` (``hf_hub_url``) with ``Range:
  bytes=a-b``: 206 and those bytes of a file the test published.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from .conftest import Reply

SHA = "0123456789abcdef0123456789abcdef01234567"
_MODEL = re.compile(r"^/api/models/([^/]+/[^/]+)$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def listing(repo_id: str, files: dict[str, int], sha: str = SHA) -> dict:
    """The model_info reply for ``files`` (path -> bytes), GGUFs as LFS files."""
    return {
        "id": repo_id,
        "sha": sha,
        "siblings": [
            {
                "rfilename": path,
                "size": size,
                "lfs": {"size": size, "sha256": "0" * 64, "pointerSize": 134},
            }
            if path.endswith(".gguf")
            else {"rfilename": path, "size": size}
            for path, size in files.items()
        ],
    }


def not_found() -> Reply:
    return Reply(404, {"error": "Repository not found"}, headers={"X-Error-Code": "RepoNotFound"})


class FakeHub:
    def __init__(self) -> None:
        self.listings: dict[str, list[Reply]] = {}
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.requests: list[dict] = []
        self.hits: dict[str, int] = defaultdict(int)
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                hub.requests.append(
                    {"path": path, "query": parts.query, "headers": dict(self.headers)}
                )
                hub.hits[path] += 1
                if match := _MODEL.match(path):
                    queue = hub.listings.get(match[1])
                    reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else not_found()
                    return self._send(reply.status, reply.body, reply.headers)
                if match := _RESOLVE.match(path):
                    blob = hub.blobs.get((match[1], match[3]))
                    if blob is None:
                        return self._send(
                            404, b'{"error": "Entry not found"}', {"X-Error-Code": "EntryNotFound"}
                        )
                    wanted = _RANGE.fullmatch(self.headers.get("Range", ""))
                    if wanted is None:
                        return self._send(200, blob, {})
                    start = int(wanted[1])
                    end = min(int(wanted[2]) if wanted[2] else len(blob) - 1, len(blob) - 1)
                    headers = {"Content-Range": f"bytes {start}-{end}/{len(blob)}"}
                    return self._send(206, blob[start : end + 1], headers)
                return self._send(404, b'{"error": "no route"}', {})

            def _send(self, status, body, headers):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, repo_id: str, *replies: Reply | dict) -> None:
        """Queue replies for the repository's listing (the last one repeats)."""
        self.listings[repo_id] = [r if isinstance(r, Reply) else Reply(200, r) for r in replies]

    def publish(self, repo_id: str, path: str, blob: bytes) -> None:
        self.blobs[(repo_id, path)] = blob

    def listing_hits(self, repo_id: str) -> int:
        return self.hits[f"/api/models/{repo_id}"]


def malformed() -> Reply:
    return Reply(200, b'{"id": "x", "sha": "' + SHA.encode() + b'", "siblings": [{"rfilename": ')


def huge_listing(repo_id: str, megabytes: int = 10) -> Reply:
    """A listing of about ``megabytes`` MB: many small non-GGUF files."""
    names = {}
    i = 0
    size = 0
    while size < megabytes * 1_050_000:
        name = f"shards/file-{i:07d}-{'x' * 60}.bin"
        names[name] = 1000
        size += len(name) + 30
        i += 1
    return Reply(200, json.dumps(listing(repo_id, names)).encode())
