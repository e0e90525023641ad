"""Look at a page in headless Chromium over the DevTools protocol on a pipe (no port, no network).

``look(path)`` opens a local HTML file, waits for it to load, and returns what a person would
notice: did every image decode, which requests were made, which errors were logged, plus a
screenshot. Chromium talks NUL-terminated JSON on file descriptors 3 (commands in) and 4 (events
and results out) when started with ``--remote-debugging-pipe``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CHECK_IMAGES = """(() => {
  const imgs = Array.from(document.images);
  return {
    count: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0))
                .map(i => (i.alt || '') + ' [' + (i.currentSrc || i.src || '').slice(0, 40) + ']'),
    scripts: document.scripts.length,
    title: document.title,
    height: document.documentElement.scrollHeight,
    text: document.body ? document.body.innerText.length : 0,
  };
})()"""


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Look:
    images: dict
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""


class _Pipe:
    def __init__(self, binary: str, profile: str):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 20)
        high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 20)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def wire() -> None:  # in the child: its fd 3 reads our commands, fd 4 carries its replies
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
                "--mute-audio", "--hide-scrollbars", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                "about:blank"]
        # preexec_fn is the way to put the pipes at fds 3 and 4 in the child; it only calls dup2
        self.proc = subprocess.Popen(args, preexec_fn=wire, pass_fds=(3, 4),  # noqa: PLW1509
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(high_r)
        os.close(high_w)
        self._next = 0
        self._replies: dict[int, dict] = {}
        self._cond = threading.Condition()
        self.events: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    self.events.put(msg)
        with self._cond:
            self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._next not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no reply from Chromium to {method}")
                self._cond.wait(left)
            reply = self._replies.pop(self._next)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self) -> None:
        with contextlib.suppress(Exception):  # it may already be gone
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)


def look(path: Path, width: int = 1280, height: int = 1600, timeout: float = 60.0) -> Look:
    """Open ``path`` in headless Chromium, wait for load, check images, collect errors, screenshot."""
    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError("Chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="harness-chromium-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            pipe.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
            requests, errors = [], []
            loaded = False
            deadline = time.monotonic() + timeout
            while not loaded:
                try:
                    event = pipe.events.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    raise TimeoutError(f"{path} did not finish loading in {timeout:.0f} s") from None
                loaded = _note(event, session, requests, errors)
            images = pipe.send("Runtime.evaluate", {"expression": CHECK_IMAGES, "returnByValue": True,
                                                    "awaitPromise": True}, session=session)["result"]["value"]
            shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
            while not pipe.events.empty():  # anything logged while we looked
                _note(pipe.events.get_nowait(), session, requests, errors)
            return Look(images=images, requests=requests, errors=errors, screenshot=base64.b64decode(shot))
        finally:
            pipe.close()


def _note(event: dict, session: str, requests: list[str], errors: list[str]) -> bool:
    """Record what an event says; True once the page's load event has fired."""
    if event.get("sessionId") != session:
        return False
    method, params = event.get("method"), event.get("params", {})
    if method == "Network.requestWillBeSent":
        requests.append(params["request"]["url"])
    elif method == "Network.loadingFailed":
        errors.append(f"failed to load: {params.get('errorText')} {params.get('blockedReason') or ''}".strip())
    elif method == "Runtime.exceptionThrown":
        errors.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:300])
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        errors.append("console: " + json.dumps(params.get("args", []))[:300])
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
        entry = params["entry"]
        errors.append(f"log {entry.get('level')}: {entry.get('source')}: {entry.get('text')}")
    elif method == "Page.loadEventFired":
        return True
    return False
