"""A real browser on the review console: Debian's chromium, headless, driven through its
chromium-driver by Selenium (W3C WebDriver), against the app served by uvicorn on a
loopback port. Selenium, not Playwright: Playwright drives the browser build it downloads
(no downloads here) and only loosely supports a distribution's chromium, while
chromium-driver is built from the same Debian source as chromium, so the two always match.

The server runs in the test's event loop (the read models' runner lives there); every
WebDriver call, which blocks, runs in a thread."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from adapters.bootstrap import bootstrap
from adapters.media_intake import MediaIntake
from adapters.settings import Settings
from api.app import close_state, create_app, open_state
from tests.e2e.conftest import Api
from tests.fakes import FakeClock, HeldJobs

T = TypeVar("T")
ARTIFACTS = Path(os.environ.get("CONSENTRY_TEST_ARTIFACTS", "test-artifacts"))


def _binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    message = ("chromium and chromium-driver are not installed: run the tests through "
               "`.ci/test`, which installs them (Debian packages)")
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class Browser:
    """Blocking WebDriver calls, each run in a thread so the server keeps serving."""

    driver: Any
    base_url: str

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def open(self, path: str) -> None:
        await self.run(self.driver.get, self.base_url + path)

    async def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return await self.run(self.driver.find_element, By.CSS_SELECTOR, css)

    async def exists(self, css: str) -> bool:
        from selenium.webdriver.common.by import By

        return bool(await self.run(self.driver.find_elements, By.CSS_SELECTOR, css))

    async def click(self, css: str) -> None:
        element = await self.find(css)
        await self.run(element.click)

    async def type(self, css: str, text: str) -> None:
        element = await self.find(css)
        await self.run(element.send_keys, text)

    async def press(self, key: str) -> None:
        """A key pressed on the page (not in a field): the console's shortcuts."""
        from selenium.webdriver.common.action_chains import ActionChains

        await self.run(lambda: ActionChains(self.driver).send_keys(key).perform())

    async def text(self, css: str = "body") -> str:
        element = await self.find(css)
        return str(await self.run(lambda: element.text))

    async def path(self) -> str:
        url = str(await self.run(lambda: self.driver.current_url))
        return url.removeprefix(self.base_url)

    async def script(self, source: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, source, *args)

    async def wait(self, condition: Callable[[], Any], what: str, timeout: float = 10.0
                   ) -> Any:
        """Polls `condition` (run in a thread) until it is truthy."""
        from selenium.webdriver.support.ui import WebDriverWait

        return await self.run(lambda: WebDriverWait(self.driver, timeout).until(
            lambda _: condition(), message=what))


@dataclass
class ConsoleSite:
    api: Api  # JSON API calls and worker steps, in-process, on the same app
    browser: Browser


@pytest.fixture
async def site(tmp_path: Path, media_intake: MediaIntake) -> AsyncIterator[ConsoleSite]:
    browser_path, driver_path = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    clock = FakeClock()
    container = bootstrap(Settings(store="sqlite", data_dir=tmp_path), clock=clock,
                          media_intake=media_intake)
    admin = container.app.create_first_admin("root")["secret"]
    app = create_app(container)
    await open_state(app, container, jobs=HeldJobs())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=1280,1800"):
        options.add_argument(flag)
    driver = await asyncio.to_thread(webdriver.Chrome, options=options,
                                     service=Service(executable_path=driver_path))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            yield ConsoleSite(Api(client, container, clock, admin),
                              Browser(driver, f"http://127.0.0.1:{port}"))
    finally:
        await asyncio.to_thread(driver.quit)
        server.should_exit = True
        await serving
        sock.close()
        await close_state(app)
        container.close()
