"""The admin in a real browser: headless Chromium from the OS packages, driven by Selenium through the
system's chromedriver (nothing is downloaded at run time).

An operator logs in, filters the position list, opens a position, closes half of it through the
confirmation page, and sees the result on the page; the database agrees. Screenshots of the list,
the position page and the overview are saved under ``var/artefacts/admin/`` (git-ignored).
``make test`` installs ``chromium`` and ``chromium-driver`` when missing and sets
``TRADINGCORE_REQUIRE_BROWSER``, so there the test fails rather than skips without a browser.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from orders.models import OrderFill
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.managers import BTC, ETH, btc, mark
from tradingcore.models import MarkSample

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM_BINARY") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTEFACTS = Path(settings.BASE_DIR) / "var" / "artefacts" / "admin"
WIDTH = 1400
WAIT_SECONDS = 20
D = Decimal


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        reason = f"no headless browser: {CHROMIUM} / {CHROMEDRIVER} missing (make test installs them)"
        if os.environ.get("TRADINGCORE_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WIDTH},1000", "--hide-scrollbars", "--lang=en-US"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    driver.set_script_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """The whole page (not only the window) at the window's width, saved as a test artefact."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def a_morning_of_trading() -> Position:
    """Positions of several bots; the one the operator reviews was opened two hours ago, added to
    and partly closed, its mark sampled every five minutes (its rows are dated back to show it)."""
    manager = PositionManager(actor="system:bot")
    mark("45000")
    mark("2500", symbol=ETH)
    reviewed = manager.open_position(**btc(user_id="1709556958", side="long", size=D("0.1"), leverage=10,
                                           stop_loss_price=D("43800"), take_profit_price=D("46800")))  # fmt: skip
    manager.open_position(**btc(user_id="grid-bot-7", side="long", size=D("0.03"), grid_level=4))
    manager.open_position(**btc(user_id="grid-bot-7", side="long", size=D("0.03"), grid_level=5))
    manager.open_position(**btc(user_id="alice", side="short", size=D("0.2"), leverage=5))
    manager.open_position(user_id="alice", exchange="okx", symbol=ETH, side="long", size=D("1.5"), leverage=3)
    gone = manager.open_position(**btc(user_id="bob", side="short", size=D("0.05")))
    mark("44600")
    manager.open_position(**btc(user_id="1709556958", side="long", size=D("0.06"), leverage=10))
    manager.close_position(gone.id, reason="target")
    mark("45300")
    manager.close_position(reviewed.id, size=D("0.04"), reason="scale out")
    manager.refresh_marks()

    now = timezone.now()
    start = now - timedelta(hours=2)
    Position.objects.filter(pk=reviewed.id).update(created_at=start)
    fills = OrderFill.objects.filter(order__position_id=reviewed.id).order_by("id")
    for fill, minutes_ago in zip(fills, (118, 64, 21), strict=True):
        OrderFill.objects.filter(pk=fill.pk).update(filled_at=now - timedelta(minutes=minutes_ago))
    walk = [45000, 45080, 44950, 44870, 44990, 45120, 45060, 44900, 44780, 44640, 44600, 44700, 44820, 44950,
            45010, 45180, 45240, 45300, 45260, 45350, 45420, 45330, 45300, 45300]  # fmt: skip
    MarkSample.objects.bulk_create(
        MarkSample(exchange="okx", symbol=BTC, price=D(price), at=start + timedelta(minutes=5 * step))
        for step, price in enumerate(walk)
    )
    return Position.objects.get(pk=reviewed.id)


def test_an_operator_finds_a_position_and_closes_half_of_it(browser: Any, live_server: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    position = a_morning_of_trading()
    get_user_model().objects.create_superuser("operator", "operator@example.com", "correct horse battery")
    wait = WebDriverWait(browser, WAIT_SECONDS)

    # the operator logs in
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys("correct horse battery")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(until.presence_of_element_located((By.ID, "tc-overview-link")))

    # filters the position list: open positions, then the bot's user id
    browser.get(f"{live_server.url}/admin/positions/position/")
    browser.find_element(By.LINK_TEXT, "Open").click()
    wait.until(until.url_contains("status__exact=open"))
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys("1709556958")
    search.submit()
    wait.until(until.url_contains("q=1709556958"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1
    assert "0.12" in rows[0].text

    # the list is compact at 1400 px: no sideways scrolling, every id on one line
    browser.get(f"{live_server.url}/admin/positions/position/")
    screenshot(browser, "position-list")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= WIDTH
    assert browser.execute_script(
        "const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth"
    )
    ids = browser.find_elements(By.CSS_SELECTOR, "#result_list .tc-id")
    assert len(ids) == Position.objects.count()
    assert all(browser.execute_script("return arguments[0].getClientRects().length", span) == 1 for span in ids)
    assert "was 0.05" in browser.find_element(By.ID, "result_list").text  # the closed one says so

    # opens the position
    browser.get(f"{live_server.url}/admin/positions/position/?q=1709556958")
    browser.find_element(By.LINK_TEXT, str(position.pk)[:8]).click()
    wait.until(until.presence_of_element_located((By.ID, "tc-position-chart")))
    screenshot(browser, "position-page")
    chart = browser.find_element(By.ID, "tc-position-chart")
    assert len(chart.find_elements(By.CSS_SELECTOR, "polygon.tc-fill")) == 3
    assert chart.find_element(By.CSS_SELECTOR, "polyline.tc-mark-line").get_attribute("points")

    # closes half of it through the confirmation page
    browser.find_element(By.CSS_SELECTOR, "a.tc-action-close").click()
    size = wait.until(until.presence_of_element_located((By.NAME, "size")))
    size.send_keys("0.06")
    browser.find_element(By.NAME, "reason").clear()
    browser.find_element(By.NAME, "reason").send_keys("operator halves it")
    browser.find_element(By.NAME, "_show").click()
    plan = wait.until(until.presence_of_element_located((By.CSS_SELECTOR, ".tc-plan")))
    screenshot(browser, "close-confirmation")
    assert "market sell order for 0.06" in plan.text
    assert "leaves 0.06 open" in plan.text
    browser.find_element(By.NAME, "_confirm").click()

    # and sees the result on the page, as the database has it
    message = wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.success")))
    screenshot(browser, "position-page-after-close")
    assert "closed 0.06; 0.06 left open" in message.text
    summary = browser.find_element(By.ID, "tc-position-summary").text
    assert "0.06" in summary
    position.refresh_from_db()
    assert (position.status, position.size) == ("open", D("0.06"))
    reduced = PositionEvent.objects.filter(position=position, type="reduced").last()
    assert reduced is not None
    assert (reduced.actor, D(reduced.parameters["qty"])) == ("admin:operator", D("0.06"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#tc-position-chart polygon.tc-fill")) == 4

    # the order list is as compact
    browser.get(f"{live_server.url}/admin/orders/order/")
    screenshot(browser, "order-list")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= WIDTH
    assert browser.execute_script(
        "const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth"
    )

    # the overview, every figure a link
    browser.get(f"{live_server.url}/admin/positions/position/overview/")
    wait.until(until.presence_of_element_located((By.ID, "tc-daily-pnl")))
    screenshot(browser, "overview")
    assert browser.find_elements(By.CSS_SELECTOR, "#tc-daily-pnl a rect")
    assert "1709556958" in browser.find_element(By.ID, "tc-exposure-user").text
