"""The frontend in a real browser: log in, HearthCam's config flow dialog and its clips.

Debian's chromium (in the hermetic root) driven by Playwright; nothing is downloaded.
"""

from collections.abc import Sequence
from dataclasses import dataclass
import json
from pathlib import Path
import shutil
from urllib.parse import quote

from playwright.async_api import (
    Browser,
    Error as PlaywrightError,
    Page,
    WebSocket,
    async_playwright,
)

# Text the user can read, through every open shadow root (Home Assistant's frontend is made of
# web components, so document.body.innerText sees almost nothing).
_DEEP_TEXT_JS = """() => {
  const parts = [];
  const skip = new Set(["STYLE", "SCRIPT", "TEMPLATE"]);
  const visit = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (skip.has(node.nodeName)) return;
    if (node.shadowRoot) visit(node.shadowRoot);
    for (const child of node.childNodes) visit(child);
  };
  visit(document.body);
  return parts.join(" ").replace(/\\s+/g, " ");
}"""
_WAIT_TEXT_JS = f"(wanted) => ({_DEEP_TEXT_JS})().includes(wanted)"
# What a missing translation looks like on screen.
RAW_KEY_MARKERS = ("component.hearthcam.", "[%key:")
_TIMEOUT_MS = 60_000
_DEBIAN_CHROMIUM = "/usr/lib/chromium/chromium"


class UiCheckError(AssertionError):
    """The frontend showed something wrong, or not what was expected."""


@dataclass(frozen=True, slots=True)
class UiTarget:
    """Where and as whom to look, and what to look for."""

    base_url: str
    username: str
    password: str
    # media_content_type,media_content_id pairs from HearthCam's root down to a day of clips.
    library_path: Sequence[tuple[str, str]]
    clip_title: str
    dashboard: str  # path of a dashboard showing the camera
    screenshots: Path


def find_chromium() -> str:
    """Return the system chromium's executable."""
    # Debian's /usr/bin/chromium is a shell wrapper; Playwright talks to the binary directly.
    if Path(_DEBIAN_CHROMIUM).is_file():
        return _DEBIAN_CHROMIUM
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    msg = "no chromium on PATH (the hermetic root installs Debian's chromium package)"
    raise UiCheckError(msg)


async def check_frontend(target: UiTarget) -> list[Path]:
    """Run the browser checks; returns the screenshots taken."""
    target.screenshots.mkdir(parents=True, exist_ok=True)
    for old in target.screenshots.glob("*.png"):
        old.unlink()  # A stale failure.png would blame this run for an earlier one.
    async with async_playwright() as playwright:
        # --no-sandbox: the hermetic root runs as root, where chromium's sandbox cannot start.
        browser = await playwright.chromium.launch(
            executable_path=find_chromium(),
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            return await _check(browser, target)
        except UiCheckError, PlaywrightError:
            # Whatever page the failure left on screen is the best clue to what went wrong.
            for page in [p for context in browser.contexts for p in context.pages]:
                await page.screenshot(path=target.screenshots / "failure.png")
            raise
        finally:
            await browser.close()


async def _check(browser: Browser, target: UiTarget) -> list[Path]:
    """Log in, then visit the config flow dialog, the media browser and the overview."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = await context.new_page()
    page.set_default_timeout(_TIMEOUT_MS)
    _record_console(page, target.screenshots / "console.log")
    shots: list[Path] = []
    await log_in(page, target.base_url, target.username, target.password)

    # The "add integration" link a README or My Home Assistant uses; it asks to confirm first.
    await page.goto(f"{target.base_url}/config/integrations/dashboard/add?domain=hearthcam")
    await _wait_for_text(page, "Do you want to set up HearthCam?", "the add-integration prompt")
    await page.get_by_role("button", name="OK").click()
    await _wait_for_text(page, "Add a camera", "HearthCam's config flow dialog")
    await _wait_for_text(page, "Stream URL", "the config flow's stream URL field")
    shots.append(await _screenshot(page, target, "config-flow"))
    await _assert_no_raw_keys(page, "the config flow dialog")

    items = "/".join(quote(f"{kind},{media_id}", safe="") for kind, media_id in target.library_path)
    await page.goto(f"{target.base_url}/media-browser/browser/{items}")
    await _wait_for_text(page, target.clip_title, "the clip in the media browser")
    shots.append(await _screenshot(page, target, "media-browser"))
    await _assert_no_raw_keys(page, "the media browser")

    await page.goto(f"{target.base_url}{target.dashboard}")
    await _wait_for_text(page, "Recording", "the camera's dashboard")
    shots.append(await _screenshot(page, target, "overview"))
    await _assert_no_raw_keys(page, "the camera's dashboard")
    return shots


async def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in on Home Assistant's login page, as a person would, and wait for the frontend."""
    await page.goto(base_url)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lambda url: "/auth/authorize" not in url, timeout=_TIMEOUT_MS)
    # The frontend stores its tokens only after the redirect: until the sidebar shows, a new
    # navigation would land on the login page again.
    await _wait_for_text(page, "Settings", "the sidebar after logging in")


async def _wait_for_text(page: Page, text: str, what: str) -> None:
    """Wait until text is visible somewhere in the page, or fail naming what was expected."""
    try:
        await page.wait_for_function(_WAIT_TEXT_JS, arg=text, timeout=_TIMEOUT_MS)
    except PlaywrightError as err:
        msg = f"{what}: {text!r} did not appear within {_TIMEOUT_MS // 1000} s at {page.url}"
        raise UiCheckError(msg) from err


async def _assert_no_raw_keys(page: Page, where: str) -> None:
    """No translation key may be shown instead of a sentence."""
    text: str = await page.evaluate(_DEEP_TEXT_JS)
    for marker in RAW_KEY_MARKERS:
        if (index := text.find(marker)) >= 0:
            msg = f"{where} shows a raw translation key: ...{text[index : index + 120]}..."
            raise UiCheckError(msg)


async def _screenshot(page: Page, target: UiTarget, name: str) -> Path:
    """Save a screenshot of the viewport as <screenshots>/<name>.png, once the page settled."""
    # The launch screen fades out after the app has rendered; images and thumbnails follow.
    await page.wait_for_function("() => !document.getElementById('ha-launch-screen')")
    await page.wait_for_timeout(2500)
    path = target.screenshots / f"{name}.png"
    await page.screenshot(path=path)
    return path


def _record_console(page: Page, log: Path) -> None:
    """Log the console, page errors and failed WebSocket commands: the frontend's own story."""
    log.unlink(missing_ok=True)

    def on_frame(payload: str | bytes) -> None:
        # A command Home Assistant failed is what leaves the frontend stuck on "Loading...".
        try:
            messages = json.loads(payload)
        except ValueError:
            return
        for message in messages if isinstance(messages, list) else [messages]:
            if isinstance(message, dict) and message.get("success") is False:
                _append(log, f"websocket: {json.dumps(message)}")

    def on_websocket(ws: WebSocket) -> None:
        ws.on("framereceived", on_frame)

    page.on("console", lambda m: _append(log, f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: _append(log, f"pageerror: {e.message} {e.stack}"))
    page.on("websocket", on_websocket)


def _append(path: Path, line: str) -> None:
    """Append a line to a log file."""
    with path.open("a") as log:
        log.write(line + "\n")
