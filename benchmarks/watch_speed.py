"""How long `forecast watch` takes from a save to the new numbers, on the flagship.

Starts `forecast watch` on a copy of the flagship in a temporary folder, waits for its first run
(which compiles the model), then saves a prior change (same structure) REPEATS times, one at a
time, and measures each save to the moment `GET /summary.json` serves the saved file's numbers
(without the sensitivity block, which the watch serves once it is computed), to the moment it
serves the complete summary, and to the moment the page's report (report.html in the run's
folder) is the new one. Beside them: a fresh `forecast run --no-worker --no-variants --format
json` of the same file (the file alone, as the watch runs it), which compiles too, and the target
of 3 s from a save to the new numbers.

Usage: python benchmarks/watch_speed.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "singapore-summit-2018.yaml"
TARGET = 3.0
# The prior the saves change: Pyongyang's chance of a full shutdown if the summit happens.
PRIOR = "summit_held: {mean: 0.2, sd: 0.1}"


def save(path: Path, text: str) -> None:
    """As an editor saves: a new file renamed over the old one."""
    temporary = path.with_name(f".{path.name}.saving")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError:
        return None  # 503 before the first run
    except urllib.error.URLError as error:
        raise SystemExit(f"forecast watch stopped answering: {error.reason}") from None


def summary_of(url: str, sha: str) -> dict | None:
    """The summary /summary.json serves, if it is of the file with this SHA-256."""
    summary = get_json(url + "summary.json")
    return summary if summary and summary["input_sha256"] == sha else None


def report_written(url: str) -> bool:
    """Whether the run shown is complete, its report written, and nothing is running."""
    state = get_json(url + "state.json")
    if state["problems"]:
        raise SystemExit(f"the run failed: {state['problems'][0]}")
    run = state["run"]
    return run is not None and run["report"] == run["number"] and state["activity"] is None


def wait_until(condition, timeout: float, step: float = 0.05):
    """condition()'s first true value, asked every `step` seconds (often enough to measure to a
    twentieth of a second, seldom enough not to slow the watch down with requests)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise SystemExit(f"gave up after {timeout} s")


def wait_for_line(process: subprocess.Popen, text: str, timeout: float) -> str:
    """The first line of the watch's terminal output that holds `text`."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.perf_counter())
        line = process.stdout.readline() if ready else ""
        if not line:
            break
        if text in line:
            return line.strip()
    raise SystemExit(f"the watch printed no line with {text!r} within {timeout:g} s")


def start_watch(file: Path, out: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "forecast", "watch", str(file), "--port", "0", "--no-open"]
        + ["--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    while True:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            raise SystemExit("forecast watch printed no address")
        if "http://" in line:
            return process, line.split()[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    arguments = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="watch-speed-"))
    try:
        file = folder / FLAGSHIP.name
        original = FLAGSHIP.read_text(encoding="utf-8")
        if original.count(PRIOR) != 1:
            raise SystemExit(f"the flagship no longer has the line {PRIOR!r}; update PRIOR")
        save(file, original)
        started = time.perf_counter()
        process, url = start_watch(file, folder / "reports")
        try:
            wait_until(lambda: get_json(url + "summary.json"), timeout=600)
            first = time.perf_counter() - started
            # Then the watch compiles the faster sampler while idle, as it does after a first
            # run of a structure; a save is timed once it has.
            upgraded = wait_for_line(process, "nutpie's numba backend", timeout=600)
            print(upgraded, flush=True)
            # Each save is made with nothing running, as after a pause to read the page.
            wait_until(lambda: report_written(url), timeout=300)
            to_numbers, to_complete, to_report, sampling = [], [], [], []
            for repeat in range(arguments.repeats):
                mean = 0.2 + 0.01 * (repeat + 1)
                text = original.replace(PRIOR, f"summit_held: {{mean: {mean:.2f}, sd: 0.1}}")
                sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
                saved = time.perf_counter()
                save(file, text)
                summary = wait_until(lambda sha=sha: summary_of(url, sha), timeout=300)
                to_numbers.append(time.perf_counter() - saved)
                sampling.append(summary["sampler"]["seconds"])

                def complete(sha=sha) -> bool:
                    served = summary_of(url, sha)
                    return served is not None and "sensitivity" in served

                wait_until(complete, timeout=300)
                to_complete.append(time.perf_counter() - saved)
                wait_until(lambda: report_written(url), timeout=300)
                to_report.append(time.perf_counter() - saved)
                print(
                    f"save {repeat + 1:2d}: numbers {to_numbers[-1]:5.2f} s "
                    f"(sampling {sampling[-1]:5.2f} s), "
                    f"with sensitivity {to_complete[-1]:5.2f} s, "
                    f"report {to_report[-1]:5.2f} s",
                    flush=True,
                )
        finally:
            # SIGTERM ends a watch as Ctrl-C does, also when this script runs in the background,
            # where a shell has its children ignore SIGINT.
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)

        fresh_started = time.perf_counter()
        subprocess.run(
            # The file alone, as a watch runs it: not its variants.
            [sys.executable, "-m", "forecast", "run", str(file), "--no-worker", "--no-variants"]
            + ["--format", "json", "--quiet", "--out", str(folder / "fresh")],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        fresh = time.perf_counter() - fresh_started
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def row(label: str, seconds: list[float]) -> None:
        print(
            f"{label:<62} {statistics.median(seconds):7.2f} "
            f"{min(seconds):6.2f}-{max(seconds):<6.2f}"
        )

    median = statistics.median(to_numbers)
    print()
    print(f"{'wall-clock seconds':<62} {'median':>7} {'range':>13}")
    row("forecast watch: save a prior change -> new numbers served", to_numbers)
    row("  of which sampling (summary.json: sampler.seconds)", sampling)
    row("forecast watch: save -> complete /summary.json (sensitivity)", to_complete)
    row("forecast watch: save a prior change -> new report.html", to_report)
    print(f"{'forecast watch: start -> first /summary.json (compiles)':<62} {first:7.2f}")
    print(f"{'fresh forecast run --no-worker --no-variants --format json':<62} {fresh:7.2f}")
    verdict = "met" if median <= TARGET else "missed"
    print(f"target: save -> new numbers at most {TARGET:.0f} s (median): {verdict}")


if __name__ == "__main__":
    main()
