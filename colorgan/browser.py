"""A real headless Chromium driven by Selenium: the web app's browser test and its README screenshot.

Debian's ``chromium`` and ``chromium-driver`` (apt-get; ``.ci/run`` installs them). The flags keep the
browser from reaching anything but the page it is shown: no sync, no component updates, no QUIC,
a fresh profile every time. ``python -m colorgan.browser docs/app.png`` (``make screenshot``) takes
the README's picture of the app.
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
from skimage import data

from colorgan import app, quiet

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")


def missing():
    """Why no browser can be driven here (a sentence), or None when one can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'colorgan[app]' with the dev extras)"
    if not browser_path() or not shutil.which("chromedriver"):
        return "Chromium and its driver are not installed (apt-get install chromium chromium-driver)"
    return None


def browser_path():
    """Debian's Chromium (or None)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(width=1280, height=900):
    """A headless Chromium WebDriver; the caller quits it. Its profile folder goes when Python exits."""
    from selenium import webdriver  # selenium is optional (missing() says so): imported where it is used
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager's usage statistics: off
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='colorgan-chromium-')}")
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def open_app(driver, url, timeout=60):
    """Load the app's page and wait until its upload field is there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#uploads input[type=file]"))


def upload_and_wait(driver, paths, timeout=120):
    """Drop ``paths`` on the upload field as a user would; wait for the status line; return it and the
    download links as {file name: URL}."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.CSS_SELECTOR, "#uploads input[type=file]").send_keys("\n".join(map(str, paths)))
    WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.ID, "status").text.startswith("Colorized"))
    links = {link.get_attribute("href").rsplit("/", 1)[-1]: link.get_attribute("href")
             for link in driver.find_elements(By.CSS_SELECTOR, "#downloads a[href]")}
    return driver.find_element(By.ID, "status").text, links


def app_screenshot(path, port=7861, samples=("astronaut", "coffee", "chelsea")):
    """The README's picture: the app after colorizing gray copies of scikit-image's sample photos."""
    with tempfile.TemporaryDirectory(prefix="colorgan-screenshot-") as folder:
        photos = []
        for name in samples:
            photos.append(Path(folder) / f"{name}.png")
            cv2.imwrite(str(photos[-1]), cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2GRAY))
        page = app.launch(port=port, prevent_thread_lock=True, quiet=True)
        driver = chromium(1280, 1100)
        try:
            open_app(driver, page.local_url)
            status, _ = upload_and_wait(driver, photos)
            time.sleep(2)  # let the before/after view and the gallery finish drawing
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(path))
        finally:
            driver.quit()
            page.close()
    print(f"{status}\nscreenshot: {path}")


if __name__ == "__main__":
    quiet.quiet_tensorflow()
    why = missing()
    if why:
        raise SystemExit(f"cannot take the screenshot: {why}")
    app_screenshot(sys.argv[1] if len(sys.argv) > 1 else "docs/app.png")
