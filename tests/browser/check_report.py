"""Loads an ecaudit HTML report in headless Chromium and prints what the page did, as JSON.

Used by tests/it/browser.rs, which makes the assertions. Drives Debian's chromium through its
chromedriver with Selenium (no browser download). Writes OUTDIR/report.png (a screenshot) and
OUTDIR/report.pdf (the page printed to PDF).

usage: check_report.py REPORT.html OUTDIR FILTER_TEXT [--no-pdf]
"""

import base64
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.support.ui import Select

report, outdir, needle = sys.argv[1], sys.argv[2], sys.argv[3]
print_pdf = "--no-pdf" not in sys.argv[4:]
options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("ECAUDIT_CHROMIUM", "/usr/bin/chromium")
# This machine's network is closed: no background connections, no first-run work.
for arg in (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
    "--user-data-dir=" + os.path.join(outdir, "profile"),
):
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
service = Service(executable_path=os.environ.get("ECAUDIT_CHROMEDRIVER", "/usr/bin/chromedriver"))
driver = webdriver.Chrome(service=service, options=options)


def rows_shown():
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#findings-table tbody tr'))"
        ".filter(r => !r.hidden).length"
    )


def severity_column():
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#findings-table tbody tr'))"
        ".map(r => Number(r.cells[0].dataset.v))"
    )


seen = {}
try:
    started = time.monotonic()
    driver.get("file://" + os.path.abspath(report))
    seen["load_seconds"] = round(time.monotonic() - started, 3)
    try:
        seen["alert"] = driver.switch_to.alert.text
    except NoAlertPresentException:
        seen["alert"] = None
    js = driver.execute_script
    seen["title"] = driver.title
    seen["ready_state"] = js("return document.readyState")
    seen["scripts"] = js("return document.scripts.length")
    seen["images"] = js("return document.images.length")
    seen["bar_charts"] = js("return document.querySelectorAll('svg.bar').length")
    seen["bar_charts_drawn"] = js(
        "return Array.from(document.querySelectorAll('svg.bar'))"
        ".filter(s => s.getBoundingClientRect().width > 0).length"
    )
    seen["pass_rate_chart"] = js(
        "const s = document.getElementById('pass-rate-chart');"
        "return s ? s.getBoundingClientRect().width : 0"
    )
    seen["tables"] = js("return Array.from(document.querySelectorAll('table[id]')).map(t => t.id)")
    seen["sections"] = js("return Array.from(document.querySelectorAll('section[id]')).map(s => s.id)")
    seen["resources"] = js("return performance.getEntriesByType('resource').map(e => e.name)")
    seen["coverage_alert_before_summary"] = js(
        "const a = document.getElementById('coverage-alert'), s = document.getElementById('summary');"
        "return !!a && !!(a.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    # textContent: markup in a value would be elements here, not text.
    seen["text"] = js("return document.body.textContent")
    seen["controls_shown"] = driver.find_element(By.ID, "findings-controls").is_displayed()
    seen["rows"] = rows_shown()
    seen["severity_order"] = severity_column()
    seen["first_row_status"] = js(
        "const r = document.querySelector('#findings-table tbody tr'); return r ? r.dataset.status : null"
    )
    # What a reader sees of the rules section (innerText: rendered, code spans without markup).
    seen["rules_text"] = js("return document.getElementById('rules').innerText")
    seen["rules_code_spans"] = js("return document.querySelectorAll('#rules code').length")
    seen["worst_before_summary"] = js(
        "const w = document.getElementById('worst'), s = document.getElementById('summary');"
        "return !!w && !!(w.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    seen["worst_first"] = js(
        "const li = document.querySelector('#worst li'); return li ? li.innerText : null"
    )

    header = driver.find_element(By.CSS_SELECTOR, "#findings-table th[data-sort='number']")
    header.click()
    seen["severity_ascending"] = severity_column()
    header.click()
    seen["severity_descending"] = severity_column()

    Select(driver.find_element(By.ID, "filter-severity")).select_by_value("critical")
    seen["rows_critical"] = rows_shown()
    seen["count_text"] = driver.find_element(By.ID, "filter-count").text
    Select(driver.find_element(By.ID, "filter-severity")).select_by_value("")
    Select(driver.find_element(By.ID, "filter-status")).select_by_value("suppressed")
    seen["rows_suppressed"] = rows_shown()
    Select(driver.find_element(By.ID, "filter-status")).select_by_value("")
    driver.find_element(By.ID, "filter-text").send_keys(needle)
    seen["rows_matching"] = rows_shown()
    seen["rows_matching_text"] = js(
        "return Array.from(document.querySelectorAll('#findings-table tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.innerText)"
    )

    # The trend charts (`report --history`): drawn, and each night's figures as the chart holds them.
    seen["trend_charts"] = js(
        "return Array.from(document.querySelectorAll('svg.trend')).map(s => {"
        "  const r = s.getBoundingClientRect();"
        "  return {id: s.id, width: r.width, height: r.height,"
        "    marks: s.querySelectorAll('rect, path, polyline, line, circle').length,"
        "    nights: Array.from(s.querySelectorAll('[data-night]')).map(e => Object.assign({}, e.dataset))};"
        "})"
    )
    if seen["trend_charts"]:
        section = driver.find_element(By.CSS_SELECTOR, "svg.trend")
        js("arguments[0].scrollIntoView()", section)
        section.screenshot(os.path.join(outdir, "trends.png"))

    seen["console"] = [
        {"level": e.get("level"), "message": e.get("message")} for e in driver.get_log("browser")
    ]
    # The cover page: what a reviewer sees first.
    js("window.scrollTo(0, 0)")
    driver.save_screenshot(os.path.join(outdir, "report.png"))
    if print_pdf:
        pdf = driver.print_page(PrintOptions())
        with open(os.path.join(outdir, "report.pdf"), "wb") as f:
            f.write(base64.b64decode(pdf))
finally:
    driver.quit()

print(json.dumps(seen))
