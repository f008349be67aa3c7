"""Chromium from the system packages walks the configurator (skipped without it).

Screenshots go to ``$SYNTHLOOM_TEST_ARTIFACTS`` (default: the test's temp folder).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from tests.relational.conftest import free_port
from tests.serve.conftest import make_shop
from tests.serve.test_restart import server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    from selenium import webdriver

    if not CHROMIUM or not DRIVER:
        pytest.skip(
            "Chromium or chromedriver not installed (apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def test_configurator_in_chromium(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import Select, WebDriverWait

    artifacts = Path(os.environ.get("SYNTHLOOM_TEST_ARTIFACTS") or tmp_path / "screenshots")
    artifacts.mkdir(parents=True, exist_ok=True)
    shop = make_shop(tmp_path / "shop.sqlite")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def shot(name: str) -> None:
        browser.save_screenshot(str(artifacts / f"{name}.png"))

    def click(selector: str) -> None:
        """Click, and wait for the page the click loads (every button here submits)."""
        page = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.CSS_SELECTOR, selector).click()
        WebDriverWait(browser, 60).until(staleness_of(page))

    with server(tmp_path / "data", port):
        browser.get(base + "/")
        browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(str(shop))
        click("#upload-form button")
        WebDriverWait(browser, 60).until(lambda d: "/sources/" in d.current_url)
        alerts = browser.find_elements(By.CSS_SELECTOR, "p.alert")
        assert not alerts, alerts[0].text
        assert "Connection OK" in browser.page_source and "Oslo" in browser.page_source
        shot("1-source-preview")
        click("#new-generator")
        click("#next")  # choose data: everything
        click("#next")  # primary keys as declared
        orders = browser.find_element(By.NAME, "fk:orders")
        orders.clear()
        click("button[value=stay]")
        alert = browser.find_element(By.CSS_SELECTOR, "p.alert.here[data-step=fkeys]")
        assert "exactly one" in alert.text
        shot("2-two-roots-alert")
        browser.get(browser.current_url.replace("/fkeys", "/report"))
        assert browser.find_element(By.ID, "create").get_attribute("disabled") is not None
        browser.get(browser.current_url.replace("/report", "/fkeys"))
        browser.find_element(By.NAME, "fk:orders").send_keys("customer_id -> customer")
        click("#next")
        assert not browser.find_elements(By.CSS_SELECTOR, "p.alert")
        click("#next")  # data treatment: synthesize everything
        Select(browser.find_element(By.NAME, "engine")).select_by_value("amplify")
        click("#next")
        browser.find_element(By.NAME, "num_records").send_keys("10")
        click("#next")
        browser.find_element(By.NAME, "per_table").click()  # one relational report only
        assert "Complexity" in browser.find_element(By.ID, "assessment").text
        shot("3-assessment")
        click("#create")
        WebDriverWait(browser, 30).until(lambda d: "/configure/" not in d.current_url)
        deadline = time.monotonic() + 180
        while browser.find_element(By.ID, "status").text != "done":
            assert time.monotonic() < deadline, "the generator did not finish"
            assert browser.find_element(By.ID, "status").text not in ("failed", "interrupted")
            time.sleep(0.5)
        assert not browser.find_element(By.ID, "cancel").is_displayed()
        timeline = browser.find_element(By.ID, "timeline").text
        assert "training orders: done" in timeline and "report: done" in timeline
        frame = browser.find_element(By.ID, "report")
        deadline = time.monotonic() + 20
        while not frame.get_attribute("src"):  # the page reloads once when done
            assert time.monotonic() < deadline
            time.sleep(0.3)
            frame = browser.find_element(By.ID, "report")
        shot("4-generator-done")
        browser.switch_to.frame(frame)
        assert "customer" in browser.page_source
        browser.switch_to.default_content()
        href = browser.find_element(By.ID, "download-csv").get_attribute("href")
        archive = httpx.get(href)
        assert archive.status_code == 200 and archive.content[:2] == b"PK"
