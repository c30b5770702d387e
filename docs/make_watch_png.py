"""Take docs/watch-page.png, the picture of the live page that README.md shows: `forecast watch`
on a copy of the flagship, one prior changed and saved, the page as headless Chromium shows it.

Uses the Chromium harness of the report tests (tests/test_report.py: DevTools over a pipe).

Usage: python docs/make_watch_png.py [--width 1200] [--height 1400]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "singapore-summit-2018.yaml"
# The change shown: a more hopeful analyst's chance of a full shutdown if the summit happens.
BEFORE = "summit_held: {mean: 0.2, sd: 0.1}"
AFTER = "summit_held: {mean: 0.35, sd: 0.12}"


def wait_for(condition, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"gave up after {timeout} s")


def shown(url: str, text: str) -> bool:
    with urllib.request.urlopen(url + "state.json") as response:
        state = json.load(response)
    run = state["run"]
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return bool(run and run["input_sha256"] == sha and run["report"] == run["number"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1500)
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from test_report import CHROMIUM, DevToolsPipe

    from forecast import cache_dir
    from forecast.watch import LivePreview

    if not CHROMIUM:
        raise SystemExit("error: no chromium on PATH; install it (apt-get install chromium)")
    cache_dir.use_for_pytensor()
    with tempfile.TemporaryDirectory() as folder:
        # The watch runs in the folder, so that the page names the file as an analyst would.
        os.chdir(folder)
        file = Path(FLAGSHIP.name)
        original = FLAGSHIP.read_text(encoding="utf-8")
        file.write_text(original, encoding="utf-8")
        preview = LivePreview(file, out_dir="reports", port=0)
        stop = threading.Event()
        watcher = threading.Thread(target=preview.watch_file, args=(stop,))
        browser = DevToolsPipe(Path(folder) / "chromium-profile")
        try:
            preview.start()
            watcher.start()
            wait_for(lambda: shown(preview.url, original))
            changed = original.replace(BEFORE, AFTER)
            file.write_text(changed, encoding="utf-8")
            wait_for(lambda: shown(preview.url, changed))
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            browser.send("Page.enable", session=session)
            browser.send(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": arguments.width,
                    "height": arguments.height,
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
                session=session,
            )
            browser.send("Page.navigate", {"url": preview.url}, session=session)
            browser.wait_for("Page.loadEventFired")
            browser.drain(3)  # the event stream's first state, the report in its frame
            shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
        finally:
            browser.close()
            stop.set()
            watcher.join(timeout=10)
            preview.close()
    out = ROOT / "docs" / "watch-page.png"
    out.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
