"""What the browser checks share: a headless Chromium with JavaScript off in a phone-sized window, a failure that says
which steps passed, waiting for the next page after a click, and the accessibility basics every page must have."""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

steps = []


def fail(message):
    print(f"{sys.argv[0]} failed after {steps}: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def shows(driver, text, seconds=15):
    """Whether the page shows `text` within `seconds`: a click on a form's button returns before the next page loads."""
    try:
        WebDriverWait(driver, seconds).until(lambda d: text.lower() in d.page_source.lower())
        return True
    except Exception:
        return False


def accessible(driver, name):
    """A language, one main heading, a label for every visible control, and no script."""
    check(driver.find_element(By.TAG_NAME, "html").get_attribute("lang"), f"{name}: the page has no lang attribute")
    check(len(driver.find_elements(By.TAG_NAME, "h1")) == 1, f"{name}: the page needs exactly one h1")
    for control in driver.find_elements(By.CSS_SELECTOR, "input:not([type=hidden])"):
        ident = control.get_attribute("id")
        check(ident and driver.find_elements(By.CSS_SELECTOR, f"label[for='{ident}']"),
              f"{name}: the control {control.get_attribute('name')} has no label")
    check(not driver.find_elements(By.TAG_NAME, "script"), f"{name}: the page carries a script")


def browser():
    """Headless Chromium as root (no sandbox), JavaScript off, a phone-sized window."""
    options = Options()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=390,844"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options)
