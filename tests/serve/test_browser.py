"""Chromium from the system packages walks the configurator on Chinook (skipped without it).

Screenshots go to ``$SYNTHLOOM_TEST_ARTIFACTS`` (default: the test's temp folder).
"""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.conftest import CHINOOK
from tests.relational.conftest import free_port
from tests.serve.test_restart import server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
CHOSEN = ("employee", "customer", "invoice")


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


def replaced(element) -> bool:  # type: ignore[no-untyped-def]
    """Whether an element's page is gone. Chromedriver may report a replaced page as
    "node does not belong to the document" instead of a stale element: both count."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def test_configurator_in_chromium(browser, tmp_path: Path) -> None:
    """Chinook (bundled slice): upload, the two-roots alert and its fix, create with the
    amplify engine, the live timeline, the report and the download."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    artifacts = Path(os.environ.get("SYNTHLOOM_TEST_ARTIFACTS") or tmp_path / "screenshots")
    artifacts.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def shot(name: str) -> None:
        browser.save_screenshot(str(artifacts / f"{name}.png"))

    def click(selector: str) -> None:
        """Click, and wait for the page the click loads (every button here submits)."""
        page = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.CSS_SELECTOR, selector).click()
        WebDriverWait(browser, 60).until(lambda _: replaced(page))

    def fill(name: str, text: str) -> None:
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(text)

    def alerts() -> list[str]:
        return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "p.alert")]

    def status() -> str:
        """The job's status; the page refreshes it, so a found element may go stale."""
        from selenium.common.exceptions import StaleElementReferenceException

        for _ in range(20):
            try:
                return str(browser.find_element(By.ID, "status").text)
            except StaleElementReferenceException:
                time.sleep(0.1)
        raise AssertionError("the status element never settled")

    with server(tmp_path / "data", port):
        browser.get(base + "/")
        upload = browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]")
        upload.send_keys(str(CHINOOK))
        click("#upload-form button")
        WebDriverWait(browser, 60).until(lambda d: "/sources/" in d.current_url)
        assert not alerts(), alerts()
        assert "Connection OK" in browser.page_source and "Rock" in browser.page_source
        shot("1-source-preview")
        click("#new-generator")
        # choose data: the store's employees, their customers and the customers' invoices
        for table in ("album", "artist", "genre", "invoiceline", "mediatype", "track"):
            browser.find_element(By.NAME, f"table:{table}").click()
        click("#next")
        for table in CHOSEN:  # Chinook declares no keys
            browser.find_element(By.NAME, f"pkcol:{table}:id").click()
        click("#next")

        def reference(table: str, column: str, parent: str) -> None:  # the blank picker row
            browser.find_element(By.NAME, f"fkcol:{table}:0:{column}").click()
            Select(browser.find_element(By.NAME, f"fkparent:{table}:0")).select_by_value(parent)

        reference("invoice", "customer", "customer")
        click("button[value=stay]")
        alert = browser.find_element(By.CSS_SELECTOR, "p.alert.here[data-step=fkeys]")
        assert "2 root tables" in alert.text and "exactly one" in alert.text
        shot("2-two-roots-alert")
        browser.get(browser.current_url.replace("/fkeys", "/report"))
        assert browser.find_element(By.ID, "create").get_attribute("disabled") is not None
        browser.get(browser.current_url.replace("/report", "/fkeys"))
        reference("customer", "support_rep", "employee")  # the fix: employee is the root
        reference("employee", "reports_to", "employee")
        click("#next")
        assert not alerts(), alerts()
        browser.find_element(By.NAME, "sensitive:customer:email").click()
        click("#next")
        Select(browser.find_element(By.NAME, "engine")).select_by_value("amplify")
        Select(browser.find_element(By.NAME, "learning_rate_schedule")).select_by_value("plateau")
        click("#next")
        assert "root table (employee)" in browser.find_element(By.ID, "step-form").text
        fill("num_records", "8")
        fill("seed", "1")
        fill("rebalance", "title: Sales Support Agent=0.5")
        fill("batch_size", "512")
        click("#next")
        assert not alerts(), alerts()
        browser.find_element(By.NAME, "per_table").click()  # one relational report only
        assert "Complexity" in browser.find_element(By.ID, "assessment").text
        shot("3-assessment")
        click("#create")
        WebDriverWait(browser, 30).until(lambda d: "/configure/" not in d.current_url)
        deadline = time.monotonic() + 120
        while status() != "done":
            assert time.monotonic() < deadline, "the generator did not finish"
            assert status() not in ("failed", "interrupted")
            time.sleep(0.5)
        assert not browser.find_element(By.ID, "cancel").is_displayed()
        timeline = browser.find_element(By.ID, "timeline").text
        assert "training invoice: done" in timeline and "report: done" in timeline
        frame = browser.find_element(By.ID, "report")
        deadline = time.monotonic() + 20
        while not frame.get_attribute("src"):  # the page reloads once when done
            assert time.monotonic() < deadline
            time.sleep(0.3)
            frame = browser.find_element(By.ID, "report")
        shot("4-generator-done")
        browser.switch_to.frame(frame)
        assert "invoice" in browser.page_source
        browser.switch_to.default_content()
        href = browser.find_element(By.ID, "download-csv").get_attribute("href")
        browser.get(browser.find_element(By.ID, "report-html").get_attribute("href"))
        WebDriverWait(browser, 20).until(lambda d: "Synthetic database report" in d.page_source)
        shot("5-report")
        archive = httpx.get(href)
        assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        tables = {n: pd.read_csv(zipped.open(f"{n}.csv")) for n in CHOSEN}
    employees = tables["employee"]
    assert len(employees) == 8
    assert (employees["title"] == "Sales Support Agent").sum() == 4  # the root's rebalance
    assert len(tables["customer"]) and len(tables["invoice"])
    assert tables["customer"]["support_rep"].isin(employees["id"]).all()
    assert tables["invoice"]["customer"].isin(tables["customer"]["id"]).all()


def test_api_docs_render_with_the_network_unreachable(tmp_path: Path) -> None:
    """/docs and /redoc load their scripts from the package: with every host but loopback
    sent to a dead proxy, both still render the API's title (and Swagger its operations)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if not CHROMIUM or not DRIVER:
        pytest.skip(
            "Chromium or chromedriver not installed (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--proxy-server=http://127.0.0.1:9",  # nothing listens there: no host is reachable
    ):
        options.add_argument(flag)
    port = free_port()
    with server(tmp_path / "data", port):
        driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        try:
            driver.get(f"http://127.0.0.1:{port}/docs")
            WebDriverWait(driver, 30).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
            )
            title = driver.find_element(By.CSS_SELECTOR, ".info .title").text
            paths = {e.text for e in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
            assert "synthloom" in title and "/api/sources" in "".join(paths)
            scripts = driver.find_elements(By.CSS_SELECTOR, "script[src]")
            assert scripts and all("127.0.0.1" in (e.get_attribute("src") or "") for e in scripts)
            driver.get(f"http://127.0.0.1:{port}/redoc")
            WebDriverWait(driver, 30).until(
                lambda d: any("synthloom" in h.text for h in d.find_elements(By.TAG_NAME, "h1"))
            )
        finally:
            driver.quit()


def _shop_with_orphans(path: Path) -> Path:
    """Customers → orders → products, with 5 orders of no customer and 4 of no product."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE customer (id INTEGER PRIMARY KEY, city TEXT);
            CREATE TABLE product (pid INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE orders (id INTEGER PRIMARY KEY,
                customer_id INTEGER REFERENCES customer(id),
                product_id INTEGER REFERENCES product(pid), amount REAL);
            """
        )
        conn.executemany(
            "INSERT INTO customer VALUES (?, ?)", [(i, "OLGP"[i % 4]) for i in range(1, 61)]
        )
        conn.executemany("INSERT INTO product VALUES (?, ?)", [(1, "tea"), (2, "cake")])
        rows = [(i, 1 + i % 60, 1 + i % 2, float(i % 9)) for i in range(1, 151)]
        rows += [(200 + i, 999, 1, 2.0) for i in range(5)]  # no such customer
        rows += [(300 + i, 1 + i, 77, 3.0) for i in range(4)]  # no such product
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
    return path


def test_rows_without_parents_are_shown_and_chosen_in_chromium(browser, tmp_path: Path) -> None:
    """The whole workflow on a database with orphan references: the counts on the source
    page, the choice on the treatment step, every typed error at once, and the rows read,
    left out and learned in the timeline and the report."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    database = _shop_with_orphans(tmp_path / "shop.sqlite")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def click(selector: str) -> None:
        page = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.CSS_SELECTOR, selector).click()
        WebDriverWait(browser, 60).until(lambda _: replaced(page))

    def fill(name: str, text: str) -> None:
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(text)

    started = time.monotonic()
    with server(tmp_path / "data", port):
        browser.get(base + "/")
        browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(
            str(database)
        )
        click("#upload-form button")
        WebDriverWait(browser, 60).until(lambda d: "/sources/" in d.current_url)
        problems = browser.find_element(By.CSS_SELECTOR, '.quality[data-table="orders"]').text
        assert "5 of 159 rows match no customer row" in problems
        assert "4 of 159 rows match no product row" in problems
        click("#new-generator")
        click("#next")  # data: every table
        click("#next")  # keys: as declared
        click("#next")  # foreign keys: as declared
        browser.find_element(By.NAME, "original:product").click()
        click("button[value=stay]")
        notes = [n.text for n in browser.find_elements(By.CSS_SELECTOR, "p.note")]
        assert any("5 left out of training" in n for n in notes), notes
        assert any("4 left out of training" in n and "orphans: null" in n for n in notes)
        Select(browser.find_element(By.NAME, "orphans:orders")).select_by_value("null")
        click("#next")
        Select(browser.find_element(By.NAME, "engine")).select_by_value("amplify")
        browser.find_element(By.CSS_SELECTOR, "details summary").click()
        fill("epochs", "-3")
        fill("dp_epsilon", "abc")
        click("button[value=stay]")
        errors = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".field-error")]
        assert (
            len(errors) == 2
            and browser.find_element(By.NAME, "epochs").get_attribute("value") == "-3"
        )
        fill("epochs", "")
        fill("dp_epsilon", "")
        click("#next")
        fill("num_records", "12")
        click("#next")
        browser.find_element(By.NAME, "per_table").click()
        assert "the whole job about" in browser.find_element(By.ID, "assessment").text
        click("#create")
        WebDriverWait(browser, 30).until(lambda d: "/configure/" not in d.current_url)
        WebDriverWait(browser, 120).until(
            lambda d: "report: done" in d.find_element(By.ID, "timeline").text
        )
        gid = browser.current_url.rstrip("/").split("/")[-1]
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/api/generators/{gid}/status").json()["status"] != "done":
            assert time.monotonic() < deadline, "the generator did not finish"
            time.sleep(0.3)
        timeline = browser.find_element(By.ID, "timeline").text
        assert "221 rows read, 5 left out" in timeline and "216 learned from" in timeline
        browser.get(browser.find_element(By.ID, "report-html").get_attribute("href"))
        WebDriverWait(browser, 20).until(lambda d: "Synthetic database report" in d.page_source)
        assert "(+5 left out)" in browser.page_source
        assert "4 kept with the reference missing" in browser.page_source
    print(f"workflow from upload to report: {time.monotonic() - started:.1f} s")
