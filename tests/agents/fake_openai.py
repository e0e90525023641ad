"""A fake OpenAI-compatible chat-completions server on loopback that replays a scripted conversation."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def tool_reply(name: str, arguments: Any, content: str | None = None, call_id: str = "call_1") -> dict:
    """A chat-completion message asking for one tool call (``arguments``: dict, or a raw string)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"role": "assistant", "content": content,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}]}


def text_reply(text: str) -> dict:
    return {"role": "assistant", "content": text}


class FakeOpenAI:
    """Serves ``POST /v1/chat/completions``: each request gets the next scripted item.

    An item is a message dict (wrapped into a completion) or ``(status, body)`` for an HTTP error.
    When the script runs out, the ``after`` item is served (default: a final text answer).
    """

    def __init__(self, script: list, after: Any = None, delay: float = 0.0):
        self.script = list(script)
        self.delay = delay
        self.after = after if after is not None else text_reply("done")
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                if fake.delay:
                    time.sleep(fake.delay)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                    item = fake.script.pop(0) if fake.script else fake.after
                if self.path.rstrip("/") != "/v1/chat/completions":
                    item = (404, {"error": {"message": f"no route {self.path}"}})
                if isinstance(item, tuple):
                    status, payload = item
                else:
                    status, payload = 200, {"id": "chatcmpl-test", "object": "chat.completion",
                                            "model": body.get("model"),
                                            "choices": [{"index": 0, "message": item,
                                                         "finish_reason": "tool_calls" if item.get("tool_calls")
                                                         else "stop"}]}
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
