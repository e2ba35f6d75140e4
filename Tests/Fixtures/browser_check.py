#!/usr/bin/python3
"""Uses circulate's web pages in a real browser (headless Chromium through Selenium, JavaScript switched off), as a
person who received a message would, and checks the database (read-only, with Python's sqlite3) after every step.

Usage: browser_check.py UNSUBSCRIBE_URL DATABASE MEMBER_EMAIL SCREENSHOT_DIR
Prints one JSON object with the steps done; exits 1 with the failed check on standard error.
"""
import json
import sqlite3
import sys

from selenium.webdriver.common.by import By

from browser_common import accessible, browser, check, fail, shows, steps

url, database, email, shots = sys.argv[1:5]
def member():
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT id, status, monthly_update, session_invitations, reports FROM member WHERE email = ?",
                         (email,)).fetchone()
        check(row is not None, f"{email} is not in the database")
        events = db.execute("SELECT action, stream, source FROM consent_event WHERE member_id = ? ORDER BY id",
                            (row[0],)).fetchall()
        requests = db.execute("SELECT kind FROM data_request WHERE member_id = ?", (row[0],)).fetchall()
        return {"status": row[1], "streams": [bool(row[2]), bool(row[3]), bool(row[4])], "events": events,
                "requests": [r[0] for r in requests]}
    finally:
        db.close()


driver = browser()
try:
    before = member()
    check(before["status"] == "active" and before["streams"] == [True, True, True], f"unexpected start: {before}")

    # 1. The link from the message: a page with a button; opening it changes nothing (mail scanners open links).
    driver.get(url)
    accessible(driver, "unsubscribe page")
    check("Nothing changes until you do" in driver.page_source, "the unsubscribe page does not explain itself")
    driver.refresh()
    check(member() == before, f"opening the link changed the database: {member()}")
    steps.append("opened the link twice: nothing changed")
    driver.save_screenshot(f"{shots}/1-unsubscribe.png")

    # 2. The button: the monthly update stops, recorded once.
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    check(shows(driver, "you will no longer receive the monthly update"), "no confirmation after the button")
    after = member()
    check(after["streams"] == [False, True, True], f"the stream did not stop: {after}")
    check(after["events"][-1] == ("withdrawn", "monthly-update", "one-click unsubscribe"), f"not recorded: {after}")
    steps.append("pressed Unsubscribe: the monthly update stopped")
    driver.save_screenshot(f"{shots}/2-unsubscribed.png")

    # 3. The preference page, from the link on that page: the stream left is unticked, the others ticked.
    driver.find_element(By.LINK_TEXT, "your choices").click()
    check(shows(driver, "What you receive from"), "the preference page did not open")
    accessible(driver, "preference page")
    ticked = {box.get_attribute("value"): box.is_selected() for box in driver.find_elements(By.NAME, "stream")}
    check(ticked == {"monthly-update": False, "session-invitations": True, "reports": True}, f"boxes: {ticked}")
    check(member() == after, "opening the preference page changed the database")
    driver.find_element(By.ID, "stream-reports").click()
    driver.find_element(By.CSS_SELECTOR, "button[name=save]").click()
    check(shows(driver, "Saved: you now receive invitations to sessions."),
          f"no confirmation after saving: {driver.find_element(By.TAG_NAME, 'body').text}")
    saved = member()
    check(saved["streams"] == [False, True, False], f"reports did not stop: {saved}")
    steps.append("cleared reports on the preference page: saved")
    driver.save_screenshot(f"{shots}/3-saved.png")

    # 4. Asking to be erased: a request for the coordinator, and no more mail meanwhile.
    driver.find_element(By.LINK_TEXT, "Back to your choices").click()
    check(shows(driver, "Please erase my data"), "back on the preference page")
    driver.find_element(By.ID, "erase").click()
    buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, "button[name=save]") if b.text == "Send my request"]
    check(buttons, "no button to send the erasure request")
    buttons[0].click()
    check(shows(driver, "Your request to erase your data is recorded"), "no confirmation of the request")
    final = member()
    check(final["requests"] == ["erasure"] and final["status"] == "unsubscribed", f"request not recorded: {final}")
    steps.append("asked to be erased: request recorded, all mail stopped")
    driver.save_screenshot(f"{shots}/4-erasure-requested.png")
finally:
    driver.quit()

print(json.dumps({"steps": steps}))
