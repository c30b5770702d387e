"""Tests of `forecast watch`: the live preview's runs, its HTTP server and its page.

One small scenario (two binary outcomes, one evidence item, 2 chains of 500 draws) whose runs
take about a second once compiled; compiled models are kept per process, so only the first
preview of the session compiles. Previews run in this process, in threads, and are asked over
real HTTP; Ctrl-C is tested on a real `forecast watch` process; the page in the headless
Chromium of the report tests.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import REPO
from test_report import chromium_tab, problems_in  # noqa: F401  (chromium_tab: a fixture)

from forecast.watch import LivePreview, is_loopback
from forecast.watch.changes import compute_changes

SCENARIO = """\
version: 1
title: "Rain on match day"
question: "Does it rain, and does the match go ahead?"
seed: 7
sampling: {draws: 500, tune: 500, chains: 2}

outcomes:
  rain:
    label: "It rains"
    prior: {mean: 0.3, sd: 0.1}
  match:
    label: "The match goes ahead"
    given: [rain]
    prior:
      rain: {mean: MATCH_IF_RAIN, sd: 0.1}
      otherwise: {mean: 0.9, sd: 0.05}

evidence:
  - outcome: rain
    successes: 3
    trials: 10
    weight: 0.8
    source: "Ten earlier match days"

scenarios:
  washout: "rain and not match"
  dry_match: "not rain and match"
"""
# Files saved wholly before they are read: what an editor's save looks like to the watch.
RUN_FILES = {"summary.json", "posterior.nc", "scenario.yaml", "report.html"}


def scenario_text(match_if_rain: float = 0.4) -> str:
    return SCENARIO.replace("MATCH_IF_RAIN", str(match_if_rain))


def save(path: Path, text: str) -> None:
    """Write the file as editors do: a new file renamed over the old one."""
    temporary = path.with_name(f".{path.name}.saving")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def wait_for(condition, *, timeout: float = 120, what: str = "the condition"):
    """condition()'s first true value, asked every 50 ms; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def ask(url: str, path: str, method: str = "GET", headers: dict | None = None):
    """(status, headers, body) of one request with the path sent exactly as given."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.putrequest(
            method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True
        )
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def state_of(url: str) -> dict:
    status, _, body = ask(url, "/state.json")
    assert status == 200
    return json.loads(body)


def settled(url: str, text: str) -> dict | None:
    """The state once the run of `text` is shown, its folder written and nothing is running."""
    state = state_of(url)
    run = state["run"]
    done = (
        run is not None
        and run["input_sha256"] == sha256(text)
        and run["report"] == run["number"]
        and state["activity"] is None
    )
    return state if done else None


class Preview:
    """A live preview of a scenario file in this process, its watcher in a thread."""

    def __init__(self, folder: Path, text: str) -> None:
        self.file = folder / "rain.yaml"
        save(self.file, text)
        self.out = folder / "out"
        self.lines: list[str] = []
        self.live = LivePreview(
            self.file,
            out_dir=self.out,
            port=0,
            echo=lambda line, is_error: self.lines.append(line),
        )
        self.url = self.live.url
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self.live.watch_file, args=(self._stop,))

    def start(self) -> Preview:
        self.live.start()
        self._watcher.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._watcher.join(timeout=10)
        self.live.close()


@pytest.fixture
def preview(tmp_path):
    """A started preview of the scenario, its first run shown."""
    started = Preview(tmp_path, scenario_text()).start()
    try:
        wait_for(lambda: settled(started.url, scenario_text()), what="the first run")
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One preview for the tests that only read from it."""
    started = Preview(tmp_path_factory.mktemp("served"), scenario_text()).start()
    try:
        wait_for(lambda: settled(started.url, scenario_text()), what="the first run")
        yield started
    finally:
        started.close()


# ----------------------------------------------------------------------------- the page
# First in the file, so that Chromium starts before any preview of this module has threads.


def page_value(tab, expression: str):
    browser, session = tab
    result = browser.send(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
    )
    return result["result"].get("value")


CELL = "(document.querySelector('#scenarios tr[data-name=washout] td.{}') || {{}}).textContent"


@pytest.mark.slow
def test_the_page_follows_the_file_without_reloading(chromium_tab, tmp_path, monkeypatch):  # noqa: F811
    browser, session = chromium_tab
    started = Preview(tmp_path, scenario_text()).start()
    try:
        wait_for(lambda: settled(started.url, scenario_text()), what="the first run")
        browser.events.clear()
        browser.send("Page.navigate", {"url": started.url}, session=session)
        browser.wait_for("Page.loadEventFired")
        first = wait_for(lambda: page_value(chromium_tab, CELL.format("now")), what="numbers")
        page_value(chromium_tab, "window.notReloaded = true")

        # A prior change: the new probability appears, with an arrow, in the same page.
        held = HeldSensitivity(monkeypatch)
        changed = scenario_text(0.1)
        save(started.file, changed)
        # While it samples, the page says so (the run takes a second or more; a look every few ms).
        status = "document.getElementById('status')"
        wait_for(
            lambda: page_value(chromium_tab, f"{status}.dataset.state") == "sampling",
            what="the working indicator",
        )
        working = page_value(chromium_tab, f"{status}.textContent")
        assert working.startswith(
            ("Sampling… ", "Computing the sensitivity analysis… ", "Writing the report… ")
        ), working
        assert page_value(chromium_tab, "document.title").startswith("… Rain on match day")
        # The numbers first, undimmed, with a note that the sensitivity analysis is coming.
        held.wait()
        pending = "document.getElementById('pending')"
        wait_for(lambda: page_value(chromium_tab, f"!{pending}.hidden"), what="the pending note")
        note = page_value(chromium_tab, f"{pending}.textContent")
        assert "Run 2's numbers are complete" in note and "sensitivity analysis" in note, note
        assert "still run 1's" in note, note
        assert page_value(chromium_tab, CELL.format("now")) != first
        assert page_value(chromium_tab, "document.getElementById('results').className") == ""
        assert page_value(chromium_tab, f"{status}.textContent").startswith(
            "Computing the sensitivity analysis… "
        )
        held.release()
        wait_for(lambda: settled(started.url, changed), what="the changed run")
        wait_for(lambda: page_value(chromium_tab, f"{pending}.hidden"), what="the note to go")
        arrow = wait_for(lambda: page_value(chromium_tab, CELL.format("change")), what="arrow")
        assert arrow.startswith("▲ +") and arrow.endswith(" pp")
        now = page_value(chromium_tab, CELL.format("now"))
        assert now != first and page_value(chromium_tab, CELL.format("before")) == first
        assert page_value(chromium_tab, "window.notReloaded") is True
        # The report below is the new run's.
        wait_for(
            lambda: page_value(chromium_tab, "document.getElementById('report').src").endswith(
                "run=2"
            ),
            what="the new report",
        )

        # An invalid save: its problem, escaped, above the previous numbers marked stale.
        save(started.file, changed.replace("seed: 7", "seed: 7\n<img src=x onerror=alert(1)>: 1"))
        problems = "document.getElementById('problems')"
        wait_for(lambda: page_value(chromium_tab, f"!{problems}.hidden"), what="the problem")
        text = page_value(chromium_tab, f"{problems}.textContent")
        assert "unknown key '<img src=x onerror=alert(1)>'" in text and "rain.yaml:5:1" in text
        assert page_value(chromium_tab, f"{problems}.querySelectorAll('img').length") == 0
        assert page_value(chromium_tab, "document.getElementById('results').className") == ("stale")
        assert page_value(chromium_tab, CELL.format("now")) == now
        assert "Stale" in page_value(
            chromium_tab, "document.getElementById('stale-note').innerText"
        )

        # Fixed: the problem goes.
        save(started.file, changed)
        wait_for(lambda: page_value(chromium_tab, f"{problems}.hidden"), what="the fix")
        assert page_value(chromium_tab, "document.getElementById('results').className") == ""
        assert page_value(chromium_tab, "window.notReloaded") is True
        served = f"request to {started.url}"
        assert [p for p in problems_in(browser.events) if not p.startswith(served)] == []
    finally:
        started.close()


# ----------------------------------------------------------------------------- the runs


@pytest.mark.slow
def test_each_good_run_is_written_as_forecast_run_writes_it(served):
    folder = served.out / "rain"
    assert {path.name for path in folder.iterdir()} == RUN_FILES
    # No staging folder left beside it; the index of the output folder, as `forecast run` writes.
    assert sorted(path.name for path in served.out.iterdir()) == ["index.html", "rain"]
    status, headers, body = ask(served.url, "/summary.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == (folder / "summary.json").read_bytes()
    summary = json.loads(body)
    assert summary["input_sha256"] == sha256(scenario_text())
    assert summary["sampler"]["draws"] == 500
    for name in ("report.html", "scenario.yaml"):
        status, _, body = ask(served.url, f"/{name}")
        assert status == 200 and body == (folder / name).read_bytes()


@pytest.mark.slow
def test_the_pdf_is_drawn_only_when_asked_for(served):
    folder = served.out / "rain"
    assert not (folder / "report.pdf").exists()
    status, _, body = ask(served.url, "/report.pdf", method="HEAD")
    assert status == 200 and body == b"" and not (folder / "report.pdf").exists()
    status, headers, body = ask(served.url, "/report.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF") and body == (folder / "report.pdf").read_bytes()


@pytest.mark.slow
def test_a_prior_change_moves_the_numbers_beyond_noise(preview):
    first = state_of(preview.url)
    assert first["changes"]["scenarios"][0]["before"] is None  # nothing to compare yet
    changed = scenario_text(0.1)
    save(preview.file, changed)
    state = wait_for(lambda: settled(preview.url, changed), what="the changed run")
    assert state["run"]["number"] == first["run"]["number"] + 1
    rows = {row["name"]: row for row in state["changes"]["scenarios"]}
    # If it rains the match is now far less likely: a washout is more probable.
    assert rows["washout"]["direction"] == "up"
    assert rows["washout"]["difference"].startswith("+")
    assert rows["washout"]["now"] != rows["washout"]["before"]
    # Rain's own prior is untouched: its probability stays within noise, with no arrow.
    outcomes = {row["name"]: row for row in state["changes"]["outcomes"]}
    assert outcomes["rain"]["direction"] is None and outcomes["rain"]["noise"]
    assert "+      rain: {mean: 0.1, sd: 0.1}" in state["changes"]["diff"]
    assert json.loads((preview.out / "rain" / "summary.json").read_text())["input_sha256"] == (
        sha256(changed)
    )


@pytest.mark.slow
def test_an_invalid_save_shows_its_problems_over_stale_numbers_until_fixed(preview):
    before = state_of(preview.url)
    summary_before = (preview.out / "rain" / "summary.json").read_bytes()
    save(preview.file, scenario_text().replace("seed: 7", "seed: 7\n<b>bold</b>: 1"))
    state = wait_for(lambda: (s := state_of(preview.url))["problems"] and s, what="the problems")
    assert state["problems_are"] == "invalid" and state["stale"] is True
    assert any(
        line.startswith(f"{preview.file}:5:1: ") and "unknown key '<b>bold</b>'" in line
        for line in state["problems"]
    ), state["problems"]
    # The last good run is still shown and still on disk, unchanged.
    assert state["run"] == before["run"]
    assert (preview.out / "rain" / "summary.json").read_bytes() == summary_before
    assert state["samplings"] == before["samplings"]
    assert any("unknown key" in line for line in preview.lines)
    # Put back as it was at the last good run: the problems go, nothing is sampled again.
    save(preview.file, scenario_text())
    state = wait_for(lambda: not (s := state_of(preview.url))["problems"] and s, what="a fix")
    assert state["stale"] is False and state["samplings"] == before["samplings"]


@pytest.mark.slow
def test_a_burst_of_saves_costs_at_most_two_samplings_and_shows_the_last(preview):
    before = state_of(preview.url)["samplings"]
    texts = [scenario_text(mean) for mean in (0.31, 0.32, 0.33, 0.34, 0.35)]
    started = time.monotonic()
    for text in texts:
        save(preview.file, text)
        time.sleep(0.1)
    assert time.monotonic() - started < 1
    state = wait_for(lambda: settled(preview.url, texts[-1]), what="the last save's run")
    time.sleep(1.5)  # time enough for a third sampling, if one were coming
    state = state_of(preview.url)
    assert 1 <= state["samplings"] - before <= 2
    assert state["run"]["input_sha256"] == sha256(texts[-1])
    _, _, body = ask(preview.url, "/summary.json")
    assert json.loads(body)["input_sha256"] == sha256(texts[-1])


class HeldSensitivity:
    """Holds every run's sensitivity analysis until `release` (or makes it fail), so that what
    the watch shows meanwhile can be looked at; the runs go on in the preview's thread."""

    def __init__(self, monkeypatch, *, error: Exception | None = None) -> None:
        import forecast.sensitivity

        self.started, self.released, self.error = threading.Event(), threading.Event(), error
        real = forecast.sensitivity.summarize_sensitivity

        def held(*args, **kwargs):
            self.started.set()
            assert self.released.wait(120), "the test never released the sensitivity analysis"
            if self.error is not None:
                raise self.error
            return real(*args, **kwargs)

        # compute_summary imports it when it runs, so the module's attribute is what it calls.
        monkeypatch.setattr(forecast.sensitivity, "summarize_sensitivity", held)

    def wait(self) -> None:
        assert self.started.wait(120), "no sensitivity analysis started"
        self.started.clear()

    def release(self) -> None:
        self.released.set()


def served_summary(url: str) -> dict:
    status, _, body = ask(url, "/summary.json")
    assert status == 200
    return json.loads(body)


@pytest.mark.slow
def test_the_numbers_are_served_before_the_sensitivity_analysis_then_the_whole_summary(
    preview, monkeypatch
):
    first = state_of(preview.url)["run"]
    on_disk = (preview.out / "rain" / "summary.json").read_bytes()
    held = HeldSensitivity(monkeypatch)
    changed = scenario_text(0.1)
    save(preview.file, changed)
    held.wait()
    # The new numbers, without the evidence and sensitivity blocks, while they are computed.
    early = served_summary(preview.url)
    assert early["input_sha256"] == sha256(changed)
    assert "sensitivity" not in early and "evidence" not in early
    state = state_of(preview.url)
    run = state["run"]
    assert run["number"] == first["number"] + 1 and run["sensitivity"] == "computing"
    assert state["activity"]["step"] == "sensitivity"
    assert state["activity"]["message"] == "Computing the sensitivity analysis"
    changes = state["changes"]
    assert [row["direction"] for row in changes["scenarios"] if row["name"] == "washout"] == ["up"]
    # The folder and the report are still the run before's, whole.
    assert run["report"] == first["number"]
    assert (preview.out / "rain" / "summary.json").read_bytes() == on_disk

    held.release()
    state = wait_for(lambda: settled(preview.url, changed), what="the complete run")
    assert state["run"]["sensitivity"] == "ready" and state["changes"] == changes
    _, _, body = ask(preview.url, "/summary.json")
    assert body == (preview.out / "rain" / "summary.json").read_bytes()
    complete = json.loads(body)
    assert complete["sensitivity"]["tornado"]
    # The same numbers: the early summary is the complete one but its evidence and sensitivity.
    assert complete["evidence"]
    late = ("evidence", "sensitivity")
    assert {key: value for key, value in complete.items() if key not in late} == early


@pytest.mark.slow
def test_a_save_during_the_sensitivity_analysis_is_run_next_and_wins(preview, monkeypatch):
    before = state_of(preview.url)["samplings"]
    held = HeldSensitivity(monkeypatch)
    changed, latest = scenario_text(0.2), scenario_text(0.25)
    save(preview.file, changed)
    held.wait()
    save(preview.file, latest)
    time.sleep(0.5)  # the save is seen; no sampling starts while the analysis goes on
    assert state_of(preview.url)["samplings"] == before + 1
    held.release()
    state = wait_for(lambda: settled(preview.url, latest), what="the latest save's run")
    assert state["samplings"] == before + 2
    assert served_summary(preview.url)["input_sha256"] == sha256(latest)
    summary = json.loads((preview.out / "rain" / "summary.json").read_text())
    assert summary["input_sha256"] == sha256(latest) and "sensitivity" in summary


@pytest.mark.slow
def test_a_run_failing_after_its_numbers_shows_the_last_complete_run_as_stale(preview, monkeypatch):
    from forecast.errors import RunError

    first = state_of(preview.url)
    on_disk = (preview.out / "rain" / "summary.json").read_bytes()
    held = HeldSensitivity(monkeypatch, error=RunError("the sensitivity analysis broke"))
    save(preview.file, scenario_text(0.15))
    held.wait()
    assert state_of(preview.url)["run"]["sensitivity"] == "computing"
    held.release()
    state = wait_for(lambda: (s := state_of(preview.url))["problems"] and s, what="the failure")
    assert state["problems"] == ["error: the sensitivity analysis broke"]
    assert state["problems_are"] == "failed" and state["stale"] is True
    assert state["run"] == first["run"] and state["changes"] == first["changes"]
    _, _, body = ask(preview.url, "/summary.json")
    assert body == on_disk == (preview.out / "rain" / "summary.json").read_bytes()


def fake_summary(
    mean: float, mcse: float, *, text: str = "a", ok: bool = True, scenarios=("wet",)
) -> dict:
    """A summary.json with what compute_changes reads, of a file of this text: one outcome and
    these scenarios, all of probability `mean`."""
    stats = {"mean": mean, "hdi90": [0, 1], "mcse": mcse, "quantiles": {"0.25": 0, "0.75": 1}}
    return {
        "scenario": "rain",
        "title": "t",
        "source_file": "rain.yaml",
        "input_sha256": sha256(text),
        "seed": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "sampler": {"name": "n", "chains": 2, "draws": 500, "tune": 500},
        "diagnostics": {"ok": ok, "warnings": [] if ok else ["2 transitions diverged: ..."]},
        "outcomes": {"rain": {"label": "It rains", "kind": "binary", "posterior": stats}},
        "scenarios": {name: {"expression": "rain", "posterior": stats} for name in scenarios},
    }


def test_changes_mark_only_differences_beyond_three_combined_standard_errors():
    # 3 × sqrt(0.003² + 0.004²) = 0.015: a move of 0.016 counts, one of 0.014 does not.
    moved = compute_changes(
        fake_summary(0.30, 0.003), "a", fake_summary(0.316, 0.004, text="b"), "b"
    )
    row = moved["scenarios"][0]
    assert (row["direction"], row["difference"], row["noise"]) == ("up", "+1.6 pp", "1.5 pp")
    assert (row["label"], row["detail"], row["now"], row["before"]) == ("wet", "rain", "32%", "30%")
    assert moved["diff"] == ["@@ -1 +1 @@", "-a", "+b"] and moved["warnings"] == []
    still = compute_changes(fake_summary(0.30, 0.003), "a", fake_summary(0.286, 0.004), "a")
    row = still["outcomes"][0]
    assert (row["direction"], row["difference"], row["before"]) == (None, None, "30%")
    down = compute_changes(fake_summary(0.30, 0.003), "a", fake_summary(0.25, 0.004), "a")
    assert (down["outcomes"][0]["direction"], down["outcomes"][0]["difference"]) == (
        "down",
        "\u22125.0 pp",
    )


def test_changes_say_when_the_run_before_cannot_be_trusted_or_a_scenario_went():
    before = fake_summary(0.3, 0.003, ok=False, scenarios=("wet", "dry"))
    changes = compute_changes(before, "a", fake_summary(0.3, 0.003, ok=False), "a")
    assert [row["name"] for row in changes["scenarios"]] == ["wet"]
    assert changes["warnings"] == [
        "The run before failed its convergence checks: a difference from it may not be "
        "trusted, arrow or none.",
        "No longer in the file: scenario 'dry'.",
    ]


# ----------------------------------------------------------------------------- safety


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [
        "/../scenarios/x.yaml",
        "/../rain.yaml",
        "/%2e%2e/",
        "/%2e%2e/rain.yaml",
        "/%2E%2E%2Frain.yaml",
        "/..%2f..%2fetc%2fpasswd",
        "/%252e%252e/rain.yaml",
        "/report.html/../../rain.yaml",
        "/./report.html",
        "//etc/passwd",
        "/etc/passwd",
        "/%2fetc%2fpasswd",
        str(REPO / "pyproject.toml"),
        "http://127.0.0.1/etc/passwd",
        "/rain.yaml",
        "/out/rain/summary.json",
        "/index.html",
        "/report.pdf/",
        "/summary.json%00.txt",
        "/%ff%fe",
        "/\\..\\rain.yaml",
    ],
)
def test_anything_but_its_own_pages_and_the_run_files_is_not_found(served, path):
    status, _, body = ask(served.url, path)
    assert status == 404, (path, status)
    assert body == b"404 not found\n"


@pytest.mark.slow
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_only_get_and_head_are_answered(served, method):
    text = served.file.read_bytes()
    for path in ("/", "/summary.json", "/scenario.yaml", "/nothing"):
        status, headers, _ = ask(served.url, path, method=method)
        assert status == 405, (method, path)
        assert headers["Allow"] == "GET, HEAD"
    assert served.file.read_bytes() == text


@pytest.mark.slow
def test_a_page_naming_another_host_is_refused_on_loopback(served):
    status, _, _ = ask(served.url, "/summary.json", headers={"Host": "attacker.example:80"})
    assert status == 403
    for host in ("localhost", f"127.0.0.1:{served.live.server.port}", "[::1]:9"):
        assert ask(served.url, "/summary.json", headers={"Host": host})[0] == 200


@pytest.mark.slow
def test_pages_are_self_contained_and_never_cached(served):
    status, headers, body = ask(served.url, "/")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    page = body.decode("utf-8")
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    _, headers, _ = ask(served.url, "/report.html")
    assert "script-src" not in headers["Content-Security-Policy"]  # the report runs nothing


def test_the_default_bind_address_is_loopback(tmp_path):
    from forecast.cli import cli

    options = {param.name: param for param in cli.commands["watch"].params}
    assert options["host"].default == "127.0.0.1"
    file = tmp_path / "rain.yaml"
    save(file, scenario_text())
    live = LivePreview(file, out_dir=tmp_path / "out", port=0)
    try:
        assert live.server.server_address[0] == "127.0.0.1"
        assert live.url == f"http://127.0.0.1:{live.server.port}/"
    finally:
        live.close()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_busy_port_is_replaced_by_a_free_one(tmp_path):
    file = tmp_path / "rain.yaml"
    save(file, scenario_text())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        live = LivePreview(file, out_dir=tmp_path / "out", port=busy)
        try:
            assert live.moved_port and live.server.port not in (busy, 0)
        finally:
            live.close()


# ----------------------------------------------------------------------------- the command


def _ctrl_c_as_at_a_terminal() -> None:
    """A test run started in the background (`make test &`, some CI runners) ignores SIGINT, and a
    child inherits that; the watch must see Ctrl-C as it would at a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_watch(folder: Path, text: str, *options: str) -> tuple[subprocess.Popen, str]:
    """`forecast watch` in its own process; returns it and the page's address."""
    save(folder / "rain.yaml", text)
    process = subprocess.Popen(
        [sys.executable, "-m", "forecast", "watch", "rain.yaml", "--port", "0", "--no-open"]
        + list(options),
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_at_a_terminal,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()
            if "http://" in line:
                return process, line.split()[2]
            if not line:
                break
    process.kill()
    raise AssertionError(f"forecast watch printed no address: {process.communicate()}")


def stop_with_ctrl_c(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def assert_port_free(url: str) -> None:
    """Nothing listens on the page's port, and a new server can listen on it at once (as servers
    do, with SO_REUSEADDR: the connections of the tests may still linger in TIME_WAIT)."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # EADDRINUSE while anything listens on it
        probe.listen()


@pytest.mark.slow
def test_ctrl_c_after_a_run_exits_cleanly_and_frees_the_port(tmp_path):
    process, url = start_watch(tmp_path, scenario_text())
    try:
        wait_for(lambda: settled(url, scenario_text()), what="the first run")
    except BaseException:
        process.kill()
        raise
    status, stderr = stop_with_ctrl_c(process)
    assert status in (0, 130), stderr
    assert "Traceback" not in stderr and "stopped" in stderr
    assert "warning" not in stderr  # loopback, by default: nothing to warn of
    assert_port_free(url)
    assert sorted(path.name for path in (tmp_path / "reports").iterdir()) == ["index.html", "rain"]
    assert {path.name for path in (tmp_path / "reports" / "rain").iterdir()} == RUN_FILES


@pytest.mark.slow
def test_ctrl_c_during_a_sampling_writes_nothing_and_another_host_is_warned_of(tmp_path):
    process, url = start_watch(tmp_path, scenario_text(), "--host", "0.0.0.0")
    assert url.startswith("http://0.0.0.0:")
    url = url.replace("0.0.0.0", "127.0.0.1")
    try:
        wait_for(lambda: state_of(url)["activity"], what="the first sampling")
    except BaseException:
        process.kill()
        raise
    status, stderr = stop_with_ctrl_c(process)
    assert status in (0, 130), stderr
    assert "Traceback" not in stderr
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine" in stderr
    assert_port_free(url)
    # The first run was cut short: no folder, not even a hidden half of one.
    assert not (tmp_path / "reports" / "rain").exists()
    assert [path.name for path in (tmp_path / "reports").iterdir()] == []


def test_a_missing_file_is_one_line_and_status_1(tmp_path):
    from helpers import run_forecast

    result = run_forecast("watch", "nowhere.yaml", "--no-open", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "nowhere.yaml:1:1: cannot read the file: no such file"
    assert "Traceback" not in result.stderr
