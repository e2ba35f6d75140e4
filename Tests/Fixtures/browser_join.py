#!/usr/bin/python3
"""Joins through circulate's join page in a real browser (headless Chromium through Selenium, JavaScript switched off):
fills the form, reads the confirmation message the test SMTP server captured, opens its link and presses Confirm,
checking the database (read-only, Python's sqlite3) after every step.

Usage: browser_join.py JOIN_URL DATABASE EMAIL SCREENSHOT_DIR SMTP_SPOOL PORT
Prints one JSON object with the steps done; exits 1 with the failed check on standard error.
"""
import email
import email.policy
import glob
import json
import re
import sqlite3
import sys
import time

from selenium.webdriver.common.by import By

from browser_common import accessible, browser, check, fail, shows, steps

join_url, database, address, shots, spool, port = sys.argv[1:7]
def state():
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        member = db.execute("SELECT id, status, lawful_basis, monthly_update, session_invitations, reports FROM member "
                            "WHERE email = ?", (address,)).fetchone()
        events = db.execute("SELECT action, stream, source, wording_version FROM consent_event WHERE member_id = ? "
                            "ORDER BY id", (member[0],)).fetchall() if member else []
        pending = db.execute("SELECT count(*) FROM pending_signup").fetchone()[0]
        return {"member": member[1:] if member else None, "events": events, "pending": pending}
    finally:
        db.close()


def confirmation_link():
    """The link in the message the test SMTP server captured, on the daemon's own listener."""
    deadline = time.time() + 20
    while time.time() < deadline:
        for path in sorted(glob.glob(f"{spool}/*.eml")):
            message = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
            if message["To"] and address in message["To"]:
                text = message.get_body(preferencelist=("plain",)).get_content()
                found = re.search(r"https://lists\.example\.org(/circulate/j/[a-z0-9-]+)", text)
                check(found, f"no confirmation link in the message: {text}")
                return f"http://127.0.0.1:{port}{found.group(1)}"
        time.sleep(0.2)
    fail("the test SMTP server received no confirmation message within 20 s")


driver = browser()
try:
    start = state()
    check(start["member"] is None and start["pending"] == 0, f"unexpected start: {start}")

    # 1. The join page: fill it in as a person would (the honeypot stays empty: a person never sees it).
    driver.get(join_url)
    accessible(driver, "join page")
    check("Wording version" in driver.page_source, "the consent wording is not shown")
    driver.find_element(By.ID, "name").send_keys("Ines Carvalho")
    driver.find_element(By.ID, "email").send_keys(address)
    reports = driver.find_element(By.ID, "stream-reports")
    if reports.is_selected():
        reports.click()
    driver.save_screenshot(f"{shots}/1-join.png")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    check(shows(driver, "check your inbox"), "no 'check your inbox' answer")
    after = state()
    check(after["member"] is None and after["pending"] == 1, f"submitting should only record a pending sign-up: {after}")
    steps.append("submitted the join page: one pending sign-up, nobody added")

    # 2. The link in the message: opening it (as a mail scanner does) adds nobody.
    link = confirmation_link()
    driver.get(link)
    accessible(driver, "confirmation page")
    driver.refresh()
    check(state()["member"] is None, "opening the confirmation link added the person")
    steps.append("opened the confirmation link twice: nobody added")
    driver.save_screenshot(f"{shots}/2-confirm.png")

    # 3. Confirm: on the list, by consent, from the web form, with the wording's version.
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    deadline = time.time() + 15
    while state()["member"] is None and time.time() < deadline:
        time.sleep(0.1)
    joined = state()
    check(joined["member"] is not None and joined["member"][0] == "active" and joined["member"][1] == "consent",
          f"not on the list after Confirm: {joined}")
    check(joined["member"][4] == 0, f"reports was not ticked but is on: {joined}")
    check(joined["events"] and all(e[2] == "web form" and e[3] for e in joined["events"]),
          f"consent not recorded as from the web form with a wording version: {joined}")
    check(joined["pending"] == 0, f"the pending sign-up was not removed: {joined}")
    steps.append("pressed Confirm: on the list by consent, source web form")
    driver.save_screenshot(f"{shots}/3-joined.png")
finally:
    driver.quit()

print(json.dumps({"steps": steps}))
