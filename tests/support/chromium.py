"""Headless Chromium driven over the DevTools protocol on a pipe, with the outside cut off.

No Playwright, no browser download, no websocket library: Debian's ``chromium`` speaks
the Chrome DevTools Protocol over file descriptors 3 (commands in) and 4 (replies out)
when started with ``--remote-debugging-pipe``; messages are JSON, each ending in a NUL
byte. Every host but 127.0.0.1 resolves to nothing and any proxied request goes to a dead
port, so a page that reaches for a CDN fails instead of loading it; :attr:`Browser.requests`
records every URL the page asked for, so a test can also assert it never tried, and
:attr:`Browser.remote_addresses` the address each response came from.
"""

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "OFFLINE_FLAGS", "Browser", "BrowserError", "chromium_path", "open_browser"]

CHROMIUM = "/usr/bin/chromium"

OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
)
"""Headless, and nothing but 127.0.0.1 reachable."""


class BrowserError(RuntimeError):
    """The browser died, or answered a DevTools command with an error."""


def chromium_path() -> str | None:
    """The browser to drive, if any: ``COMMERCE_TEST_CHROMIUM``, else Debian's ``chromium``
    (``scripts/services.sh`` installs it), else a Chromium or Chrome on ``PATH`` (GitHub's
    Ubuntu runners ship Google Chrome)."""
    if configured := os.environ.get("COMMERCE_TEST_CHROMIUM", "").strip():
        return configured
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    names = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
    return next((found for name in names if (found := shutil.which(name))), None)


@dataclass
class Browser:
    """One headless Chromium process and one page attached over the DevTools pipe."""

    process: subprocess.Popen[bytes]
    to_browser: int
    from_browser: int
    log: Path
    session: str = ""
    requests: list[str] = field(default_factory=list)
    remote_addresses: list[str] = field(default_factory=list)
    """The IP address each response came from (none for data: and cached answers)."""
    failures: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    _next_id: int = 0
    _buffer: bytes = b""

    def _send(self, method: str, params: dict[str, Any], *, session: bool) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self.from_browser, 1 << 16)
                if not chunk:
                    raise BrowserError(f"Chromium exited: {self.log.read_text()[-2000:]}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def _record(self, event: dict[str, Any]) -> None:
        params = event.get("params", {})
        match event.get("method"):
            case "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            case "Network.responseReceived":
                if address := params["response"].get("remoteIPAddress"):
                    self.remote_addresses.append(address)
            case "Network.loadingFailed":
                self.failures.append(f"{params.get('errorText')} ({params.get('requestId')})")
            case "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                self.console.append(f"exception: {details.get('text')} {details.get('exception')}")
            case "Runtime.consoleAPICalled":
                texts = [str(arg.get("value", arg.get("description"))) for arg in params["args"]]
                self.console.append(f"console.{params.get('type')}: {' '.join(texts)}")

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 30
    ) -> dict[str, Any]:
        """Send a DevTools command (to the page once attached) and return its result."""
        wanted = self._send(method, params or {}, session=bool(self.session))
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._record(message)

    def attach(self) -> None:
        """Attach to a fresh blank page and watch its network and console."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        for domain in ("Network", "Runtime", "Page"):
            self.call(f"{domain}.enable")

    def navigate(self, url: str) -> None:
        """Load ``url`` in the page."""
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigating to {url}: {result['errorText']}")

    def evaluate(self, expression: str, *, timeout: float = 30) -> Any:
        """The value of a JavaScript expression in the page (it waits while the page's
        main thread is busy, e.g. rendering)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 30, poll: float = 0.25) -> Any:
        """Poll ``expression`` until it is truthy; returns its last value."""
        deadline = time.monotonic() + timeout
        value = self.evaluate(expression, timeout=timeout)
        while not value and (remaining := deadline - time.monotonic()) > 0:
            time.sleep(poll)
            value = self.evaluate(expression, timeout=max(remaining, poll))
        return value


@contextlib.contextmanager
def open_browser(executable: str, *, log_dir: Path) -> Iterator[Browser]:
    """Start headless Chromium cut off from everything but 127.0.0.1, attached to a page."""
    commands_read, commands_write = os.pipe()
    replies_read, replies_write = os.pipe()
    log = log_dir / "chromium.log"
    with tempfile.TemporaryDirectory(prefix="commerce-chromium-") as profile:
        flags = [*OFFLINE_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"]
        # Bash hands the browser our pipe ends as fds 3 and 4, as the protocol wants (POSIX
        # sh need not accept the two-digit descriptors these may be).
        script = f'exec "$0" "$@" 3<&{commands_read} 4>&{replies_write}'
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["/bin/bash", "-c", script, executable, *flags, "about:blank"],
                pass_fds=(commands_read, replies_write),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        os.close(commands_read)
        os.close(replies_write)
        browser = Browser(process, commands_write, replies_read, log)
        try:
            browser.attach()
            yield browser
        finally:
            with contextlib.suppress(OSError, BrowserError, TimeoutError):
                browser.session = ""
                browser._send("Browser.close", {}, session=False)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            os.close(commands_write)
            os.close(replies_read)
