"""A real headless browser for tests: Debian's Chromium, driven over the Chrome DevTools
Protocol (a websocket carrying JSON commands) with aiohttp's websocket client, which the
node already depends on. No browser download, no driver binary.

`scripts/bootstrap --with-browser` (run by `scripts/test`) installs Chromium with apt-get
when it is missing.
"""
import asyncio
import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp

NAMES = ("chromium", "chromium-browser")


class BrowserError(RuntimeError):
    """The browser could not start, or a page's script failed."""


def chromium():
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("Chromium is not installed: run scripts/bootstrap --with-browser "
                       "(it runs apt-get install chromium), or install it yourself")


class Browser:
    """One headless Chromium with one page. Calls are synchronous; page script errors
    (uncaught exceptions, console errors) are collected in `errors`."""

    def __init__(self, profile: Path, width=1280, height=900):
        self.profile = profile
        self.process = subprocess.Popen(
            [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-sync", "--mute-audio",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.loop = asyncio.new_event_loop()
        self.errors, self._next_id = [], 0
        try:
            self.loop.run_until_complete(self._connect())
        except BaseException:
            self.close()
            raise

    async def _connect(self):
        # Chromium writes the port it chose (and the browser's path) once it listens.
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BrowserError("Chromium did not start (no DevToolsActivePort)")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(target for target in targets if target["type"] == "page")
        self.socket = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        for domain in ("Page", "Runtime", "Log"):
            await self._send(f"{domain}.enable")

    async def _send(self, method, **params):
        self._next_id += 1
        command = self._next_id
        await self.socket.send_str(json.dumps({"id": command, "method": method, "params": params}))
        while True:
            message = json.loads((await self.socket.receive()).data)
            if message.get("id") == command:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._observe(message)

    def _observe(self, event):
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(arg.get("value", arg.get("description")))
                                        for arg in params.get("args", ())))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry']['text']} ({params['entry'].get('url', '')})")

    def command(self, method, **params):
        return self.loop.run_until_complete(self._send(method, **params))

    def set_viewport(self, width, height, mobile=False, scale=1):
        self.command("Emulation.setDeviceMetricsOverride", width=width, height=height,
                     deviceScaleFactor=scale, mobile=mobile)

    def open(self, url):
        self.command("Page.navigate", url=url)

    def evaluate(self, expression):
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True,
                              awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=30, what=None):
        """Wait until `expression` is truthy in the page; its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:  # the page is loading: no context yet
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"waited {timeout}s for {what or expression}; page errors: "
                                   f"{self.errors}")
            self.loop.run_until_complete(self._drain(0.2))

    async def _drain(self, seconds):
        """Take the events that arrive for `seconds` (errors among them are kept)."""
        try:
            while True:
                message = await asyncio.wait_for(self.socket.receive(), seconds)
                self._observe(json.loads(message.data))
        except asyncio.TimeoutError:
            pass

    def screenshot(self, path: Path):
        """The whole page, not only the viewport, as PNG."""
        metrics = self.command("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.command("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": size["width"],
                                  "height": size["height"], "scale": 1})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self):
        async def disconnect():
            if getattr(self, "socket", None) is not None:
                await self.socket.close()
            if getattr(self, "session", None) is not None:
                await self.session.close()

        try:
            self.loop.run_until_complete(disconnect())
        finally:
            self.loop.close()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
