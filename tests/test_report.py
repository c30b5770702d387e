"""Tests of the report layer: report.html, report.pdf and index.html from a run folder.

The run folder is the one the real pipeline writes for tests/data/report-fixture.yaml, sampled
once per test session (`pipeline_run` in conftest.py). The HTML is checked as parsed structure,
then in a real headless Chromium spoken to over the DevTools protocol; the PDF is read back with
pypdf.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import pathlib
import re
import select
import shutil
import struct
import subprocess
import time
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from helpers import PAPER_POINTS, REPO, read_pdf, run_forecast

from forecast.report import ReportError, write_index, write_reports
from forecast.report.html import describe_time
from forecast.report.wording import (
    category_label,
    describe_row,
    format_interval,
    format_probability,
    format_shift,
    parameter_label,
)

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# ----------------------------------------------------------------------------- helpers


class Element:
    """A parsed HTML element: tag, attributes, children (elements and text)."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    def iter(self):
        """This element and every element under it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements with this tag (any if None) whose attributes contain these values."""
        return [
            element
            for element in self.iter()
            if (tag is None or element.tag == tag)
            and all(
                value in (element.attrs.get(name.rstrip("_")) or "").split()
                or element.attrs.get(name.rstrip("_")) == value
                for name, value in attrs.items()
            )
        ]

    def text(self) -> str:
        """The element's text with whitespace collapsed."""
        parts = []
        for element_or_text in self.children:
            if isinstance(element_or_text, Element):
                if element_or_text.tag not in ("style", "script"):
                    parts.append(element_or_text.text())
            else:
                parts.append(element_or_text)
        return " ".join(" ".join(parts).split())


class TreeBuilder(HTMLParser):
    """Build an Element tree with the standard library's HTML parser."""

    VOID = {"meta", "link", "br", "hr", "img", "input", "col", "source", "wbr", "area", "base"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_html(text: str) -> Element:
    """Parse a page into an Element tree."""
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


URL_ATTRIBUTES = ("src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data")


def external_references(document: Element) -> list[str]:
    """Every URL in an attribute or in CSS url() that is neither a fragment nor data:."""
    found = []
    for element in document.iter():
        for name in URL_ATTRIBUTES:
            value = element.attrs.get(name)
            if value is not None and not value.startswith(("#", "data:")):
                found.append(f"<{element.tag} {name}={value!r}>")
        css = element.attrs.get("style") or ""
        if element.tag == "style":
            css += element.text()
        for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
            if not url.startswith(("#", "data:")):
                found.append(f"url({url})")
        if element.tag == "style" and "@import" in element.text():
            found.append("@import")
    return found


@pytest.fixture(scope="session")
def copy_run(pipeline_run):
    """copy_run(folder, name="run"): a fresh copy of the pipeline's run folder as folder/name,
    without any report in it, for a test to change."""

    def copy(folder: pathlib.Path, name: str = "run") -> pathlib.Path:
        run_dir = folder / name
        shutil.copytree(pipeline_run, run_dir, ignore=shutil.ignore_patterns("report.*"))
        return run_dir

    return copy


def edit_summary(run_dir: pathlib.Path, edit) -> dict:
    """Apply edit(summary) to run_dir/summary.json and return the new summary."""
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    edit(summary)
    path.write_text(json.dumps(summary), encoding="utf-8")
    return summary


@pytest.fixture(scope="module")
def summary(pipeline_run) -> dict:
    return json.loads((pipeline_run / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def report_run(tmp_path_factory, copy_run) -> pathlib.Path:
    """The pipeline's run with report.html and report.pdf (A4) written, for read-only tests."""
    run_dir = copy_run(tmp_path_factory.mktemp("report"))
    written = write_reports(run_dir, formats={"html", "pdf"})
    assert written == [run_dir / "report.html", run_dir / "report.pdf"]
    return run_dir


@pytest.fixture(scope="module")
def page(report_run) -> str:
    return (report_run / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def document(page) -> Element:
    return parse_html(page)


def test_report_scenario_validates():
    result = run_forecast("validate", "tests/data/report-fixture.yaml", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "tests/data/report-fixture.yaml: ok" in result.stdout


def test_report_scenario_has_every_part_the_report_shows():
    from forecast.spec import load_scenario
    from forecast.spec.scenario import OTHERWISE

    scenario = load_scenario(REPO / "tests" / "data" / "report-fixture.yaml")
    outcomes = scenario.outcomes
    assert any(not o.parents and o.is_binary and o.description for o in outcomes)
    assert any(o.is_binary and o.rows[-1].key == OTHERWISE for o in outcomes if o.parents)
    assert any(
        o.parents and label != name
        for o in outcomes
        for name, label in zip(o.categories, o.category_labels, strict=True)
    )
    assert any(e.when and e.source for e in scenario.evidence)
    assert any(e.row is None and scenario.outcome(e.outcome).parents for e in scenario.evidence)
    assert {r.pooling for r in scenario.reference_classes if r.source} == {"partial", "complete"}
    assert len(scenario.scenarios) >= 3
    assert HOSTILE in scenario.title
    assert any(e.source and HOSTILE in e.source for e in scenario.evidence)
    assert any("$" in o.label for o in outcomes)


# ----------------------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.31, "31%"),
        (0.0581, "6%"),
        (0.5, "50%"),
        (0.995, "99.5%"),
        (0.004, "0.4%"),
        (0.0004, "<0.1%"),
        (0.99996, ">99.9%"),
        (0.0, "0%"),
        (1.0, "100%"),
    ],
)
def test_format_probability(p, text):
    assert format_probability(p) == text


def test_format_interval_and_shift():
    assert format_interval([0.12, 0.51]) == "12\u201351%"
    assert format_interval([0.0002, 0.22]) == "0\u201322%"
    assert format_shift(0.43, 0.59) == "+16 pp"
    assert format_shift(0.59, 0.43) == "\u221216 pp"
    assert format_shift(0.5, 0.502) == "\u00b10 pp"


# ----------------------------------------------------------------------------- figures


def test_rank_plots_have_a_panel_per_element_and_catch_a_stuck_chain():
    import numpy as np
    import xarray as xr

    from forecast.report.figure_data import compute_rank_plots

    rng = np.random.default_rng(1)
    mixed = rng.normal(size=(4, 200, 2, 3))
    stuck = rng.normal(size=(4, 200))
    stuck[0] -= 20  # chain 0 explored only the low end
    posterior = xr.Dataset(
        {
            "deal": (("chain", "draw", "deal.row", "deal.category"), mixed),
            "rate": (("chain", "draw"), stuck),
        },
        coords={"deal.row": ["talks", "otherwise"], "deal.category": ["a", "b", "c"]},
    )
    categories = {name: {"label": name.upper()} for name in ("a", "b", "c")}
    outcomes = {"deal": {"label": "Deal", "kind": "categorical", "categories": categories}}
    plots = {plot.title: plot for plot in compute_rank_plots(posterior, outcomes)}
    assert set(plots) == {"Deal (deal)", "Single-valued parameters"}
    deal = plots["Deal (deal)"]
    assert [panel.label for panel in deal.panels] == [
        "talks, A",
        "talks, B",
        "talks, C",
        "otherwise, A",
        "otherwise, B",
        "otherwise, C",
    ]
    for panel in deal.panels:
        assert panel.counts.shape == (4, 20)
        assert (panel.counts.sum(axis=1) == 200).all()
        assert panel.counts.max() < 30  # uniform: 10 a bin, give or take
    (rate,) = plots["Single-valued parameters"].panels
    assert rate.label == "rate"
    assert rate.counts[0, :5].sum() == 200  # all of chain 0's ranks are the lowest 800
    assert rate.counts[1:, :5].sum() == 0


def test_dependency_layout_columns_are_depths(summary):
    from forecast.report.figure_data import compute_dependency_layout

    outcomes = summary["outcomes"]
    layout = compute_dependency_layout(outcomes)

    def depth_of(name):  # the longest path from an outcome without parents
        return 1 + max((depth_of(p) for p in outcomes[name]["given"]), default=-1)

    depth = {name: depth_of(name) for name in outcomes}
    assert {name: column for name, (column, _) in layout.items()} == depth
    assert len(set(depth.values())) > 1
    rows = {}
    for column, row in layout.values():
        rows.setdefault(column, []).append(row)
    assert all(sorted(r) == list(range(len(r))) for r in rows.values())


def test_dependency_layout_survives_a_cycle():
    from forecast.report.figure_data import compute_dependency_layout

    outcomes = {"a": {"given": ["b"]}, "b": {"given": ["a"]}, "c": {"given": []}}
    assert set(compute_dependency_layout(outcomes)) == {"a", "b", "c"}


def test_arrow_bends_round_a_box_in_its_way_and_not_otherwise():
    from forecast.report.charts import arrow_bend

    box = (1.0, 0.4)
    assert arrow_bend((0.5, 1.0), (3.5, 1.0), [], box) == 0.0
    assert arrow_bend((0.5, 1.0), (3.5, 1.0), [(2.0, 3.0)], box) == 0.0
    bend = arrow_bend((0.5, 1.0), (3.5, 1.0), [(2.0, 1.0)], box, height=3.0)
    assert abs(bend) >= 0.15


def test_wrap_label_breaks_at_spaces_then_underscores_and_caps_lines():
    from forecast.report.canvas import wrap_label

    assert wrap_label("short", 2.0) == "short"
    assert wrap_label("full_shutdown_class_mean", 1.0) == "full_shutdown_\nclass_mean"
    long = wrap_label("word " * 40, 1.0, max_lines=3)
    assert long.count("\n") == 2 and long.endswith("…")


# ----------------------------------------------------------------------------- HTML structure


def test_every_scenario_appears_with_its_posterior_mean_most_probable_first(document, summary):
    rows = [row for row in document.find_all("tr") if "data-scenario" in row.attrs]
    names = [row.attrs["data-scenario"] for row in rows]
    expected = sorted(
        summary["scenarios"], key=lambda n: -summary["scenarios"][n]["posterior"]["mean"]
    )
    assert names == expected
    for row in rows:
        scenario = summary["scenarios"][row.attrs["data-scenario"]]
        cells = [cell.text() for cell in row.find_all("td")]
        assert row.find_all("th")[0].text().startswith(row.attrs["data-scenario"])
        assert cells[0] == format_probability(scenario["posterior"]["mean"])
        assert cells[1] == format_interval(scenario["posterior"]["hdi90"])
        assert cells[2] == format_probability(scenario["prior"]["mean"])


def test_every_outcome_appears_with_its_label_and_posterior_means(document, summary):
    articles = {a.attrs["data-outcome"]: a for a in document.find_all("article", class_="outcome")}
    assert list(articles) == list(summary["outcomes"])
    for name, outcome in summary["outcomes"].items():
        article = articles[name]
        assert article.find_all("h3")[0].text() == outcome["label"]
        # (heading the row is under, its label, its posterior mean), in table order.
        shown, heading = [], None
        for row in article.find_all("tbody")[0].find_all("tr"):
            if "section" in row.attrs.get("class", "").split():
                heading = row.text()
                continue
            posterior = row.find_all("td", class_="posterior")[0].text()
            shown.append((heading, row.find_all("th")[0].text(), posterior))
        outcomes = summary["outcomes"]
        if outcome["kind"] == "binary":
            expected = [(None, "Overall", outcome["posterior"])]
            for row in outcome.get("rows", []):
                expected.append((None, describe_row(row, name, outcomes), row["posterior"]))
        else:
            sections = [("Overall" if outcome["given"] else None, outcome["categories"])]
            for row in outcome.get("rows", []):
                sections.append((describe_row(row, name, outcomes), row["categories"]))
            expected = [
                (section, category_label(name, category, outcomes), stats["posterior"])
                for section, categories in sections
                for category, stats in categories.items()
            ]
        assert shown == [
            (s, label, format_probability(stats["mean"])) for s, label, stats in expected
        ], name
        assert article.find_all("svg"), f"{name} has no chart"


def test_sections_come_in_the_order_the_reader_needs(document):
    ids = [s.attrs.get("id") for s in document.find_all("section")]
    assert ids == [
        "scenarios",
        "outcomes",
        "sensitivity",
        "evidence",
        "reference-classes",
        "worlds",
        "dependencies",
        "appendix-diagnostics",
        "appendix-provenance",
    ]


def test_what_drives_the_answer_has_each_headline_tornado_and_every_power_scaling_row(
    document, summary, report_run
):
    from forecast.report.wording import power_scaling_labels, rank_scenarios

    (section,) = [s for s in document.find_all("section") if s.attrs.get("id") == "sensitivity"]
    headline = [name for name, _ in rank_scenarios(summary["scenarios"])[:3]]
    articles = section.find_all("article", class_="tornado")
    assert [a.attrs["data-scenario"] for a in articles] == headline
    for article in articles:
        assert len(article.find_all("svg")) == 1
        assert "Moves most with" in article.text()
        # Each bar's label is in the chart: at most ten, each once.
        labels = [t.text() for t in article.find_all("text") if t.text().startswith("Prior:")]
        assert 0 < len(labels) <= 10
    rows = section.find_all("table", class_="power-scaling")[0].find_all("tbody")[0]
    shown = [row.find_all("th")[0].text() for row in rows.find_all("tr")]
    labels = power_scaling_labels(summary)
    power_scaling = summary["sensitivity"]["power_scaling"]
    assert sorted(shown) == sorted(labels[key][0] for key in power_scaling)
    # The flagged ones first.
    flagged = [bool(result["diagnosis"]) for result in power_scaling.values()]
    assert ["flagged" in row.attrs.get("class", "") for row in rows.find_all("tr")] == sorted(
        flagged, reverse=True
    )
    text = read_pdf(report_run / "report.pdf").text
    assert "What drives the answer" in text and "How much rests on the priors" in text
    for name in headline:
        assert f"Probability of {name}" in text


def test_a_run_written_before_sensitivity_still_reports(tmp_path, copy_run):
    run_dir = copy_run(tmp_path)
    edit_summary(run_dir, lambda summary: summary.pop("sensitivity"))
    write_reports(run_dir, formats={"html"})
    document = parse_html((run_dir / "report.html").read_text(encoding="utf-8"))
    ids = [s.attrs.get("id") for s in document.find_all("section")]
    assert "sensitivity" not in ids and "outcomes" in ids and "evidence" in ids
    assert not document.find_all("a", href="#sensitivity")


def test_evidence_reference_classes_worlds_and_provenance_are_shown(
    document, summary, page, pipeline_run
):
    evidence_rows = document.find_all("table", class_="evidence")[0].find_all("tbody")[0]
    rows = iter(evidence_rows.find_all("tr"))
    for item in summary["evidence"]:
        # One row per probability the item bears on: one, or one per category.
        if summary["outcomes"][item["outcome"]]["kind"] == "binary":
            pairs = [(item["with"], item["without"])]
        else:
            pairs = [(item["with"][c], item["without"][c]) for c in item["with"]]
        texts = [next(rows).text() for _ in pairs]
        assert (item["source"] or "") in texts[0] and item["method"] in texts[0]
        for text, (with_item, without) in zip(texts, pairs, strict=True):
            assert format_probability(with_item["mean"]) in text
            assert format_probability(without["mean"]) in text
    assert next(rows, None) is None
    cases = document.find_all("table", class_="cases")[0].text()
    for case in summary["reference_classes"][0]["cases"]:
        assert case["name"] in cases
    worlds = document.find_all("table", class_="worlds")[0].find_all("tbody")[0].find_all("tr")
    assert len(worlds) == len(summary["worlds"])
    first = [cell.text() for cell in worlds[0].find_all("td")]
    assert first[-2:] == [
        format_probability(summary["worlds"][0]["probability"]),
        format_probability(summary["worlds"][0]["prior_probability"]),
    ]
    provenance = document.find_all("table", class_="provenance")[0].text()
    for value in (summary["input_sha256"], str(summary["seed"]), summary["command"]):
        assert value in provenance
    for name, version in summary["versions"].items():
        assert f"{name} {version}" in provenance
    scenario_text = (pipeline_run / "scenario.yaml").read_text(encoding="utf-8")
    assert document.find_all("pre", class_="scenario-file")[0].text() == " ".join(
        scenario_text.split()
    )
    parameters = document.find_all("table", class_="parameters")[0].text()
    for parameter in summary["diagnostics"]["parameters"]:
        assert parameter_label(parameter["name"]) in parameters


def test_page_is_self_contained(document, page):
    assert external_references(document) == []
    assert not document.find_all("script")
    assert not document.find_all("link", rel="stylesheet")
    assert not document.find_all("img")
    assert "@font-face" not in page


def test_figures_are_inline_svg_with_unique_resolvable_ids(document, page, summary):
    charts = document.find_all("svg")
    # headline, one per outcome, evidence, one per reference class, dependencies, rank plots
    assert len(charts) >= 1 + len(summary["outcomes"]) + 1 + len(summary["reference_classes"]) + 2
    for chart in charts:
        assert "chart" in chart.attrs.get("class", "")
        assert chart.attrs.get("viewbox") or chart.attrs.get("viewBox")
    ids = [e.attrs["id"] for e in document.iter() if "id" in e.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids on the page"
    for reference in re.findall(r'(?:href="#|url\(#)([^")]+)', page):
        assert reference in ids, reference
    # Each SVG is well-formed XML on its own (matplotlib escaped its text).
    for svg in re.findall(r"<svg .*?</svg>", page, flags=re.S):
        ElementTree.fromstring(svg)
    assert all(len(svg) < 40_000 for svg in re.findall(r"<svg .*?</svg>", page, flags=re.S))


def test_figures_are_labelled_with_outcome_labels(page, summary):
    svg_text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", page))
    for outcome in summary["outcomes"].values():
        # Long labels wrap across lines; their first word is in some <text> of a figure.
        assert outcome["label"].split()[0] in svg_text
    assert "full_shutdown[" not in svg_text


def test_warnings_are_shown_before_the_headline(tmp_path, copy_run):
    run_dir = copy_run(tmp_path)

    def fail(summary):
        summary["diagnostics"].update(
            ok=False, divergences=12, warnings=["12 divergent transitions after tuning"]
        )

    edit_summary(run_dir, fail)
    write_reports(run_dir, formats={"html"})
    document = parse_html((run_dir / "report.html").read_text(encoding="utf-8"))
    order = [
        e for e in document.iter() if e.attrs.get("id") in ("diagnostics-warning", "scenarios")
    ]
    assert [e.attrs["id"] for e in order] == ["diagnostics-warning", "scenarios"]
    assert "12 divergent transitions after tuning" in order[0].text()


def test_failed_check_without_words_still_warns(tmp_path, copy_run):
    run_dir = copy_run(tmp_path)
    edit_summary(run_dir, lambda s: s["diagnostics"].update(ok=False, warnings=[]))
    write_reports(run_dir, formats={"html"})
    document = parse_html((run_dir / "report.html").read_text(encoding="utf-8"))
    alert = [e for e in document.iter() if e.attrs.get("id") == "diagnostics-warning"]
    assert alert and "did not pass" in alert[0].text()


def test_a_run_without_evidence_classes_or_worlds_still_reports(tmp_path, copy_run):
    run_dir = copy_run(tmp_path)

    def strip(summary):
        for key in ("evidence", "reference_classes", "worlds"):
            summary[key] = []

    edit_summary(run_dir, strip)
    write_reports(run_dir, formats={"html"})
    document = parse_html((run_dir / "report.html").read_text(encoding="utf-8"))
    ids = [s.attrs.get("id") for s in document.find_all("section")]
    assert "evidence" not in ids and "reference-classes" not in ids and "worlds" not in ids
    assert "scenarios" in ids and "outcomes" in ids


def test_no_warning_box_when_diagnostics_pass(document):
    assert not [e for e in document.iter() if e.attrs.get("id") == "diagnostics-warning"]


# ----------------------------------------------------------------------------- user text is data


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, copy_run) -> pathlib.Path:
    """The pipeline's run with user text that would run, or be parsed as mathtext, if not escaped.

    The scenario file already carries some (its title, an evidence source, a label with `$`); the
    summary is edited for more, and for text that no file can hold (scenario names, warnings)."""
    run_dir = copy_run(tmp_path_factory.mktemp("hostile"))

    def poison(summary):
        summary["title"] = HOSTILE
        summary["question"] = f"Is {HOSTILE} & <b>bold</b> shown as text?"
        summary["outcomes"]["summit_held"]["label"] = HOSTILE
        summary["outcomes"]["full_shutdown"]["label"] = "Costs exceed $5bn and $10bn"
        summary["evidence"][0]["source"] = HOSTILE
        summary["reference_classes"][0]["cases"][0]["name"] = HOSTILE
        summary["scenarios"][HOSTILE] = summary["scenarios"].pop("grand_bargain")
        summary["diagnostics"]["warnings"] = [HOSTILE]

    edit_summary(run_dir, poison)
    write_reports(run_dir, formats={"html", "pdf"})
    return run_dir


def test_hostile_text_is_escaped_in_the_html(hostile_run):
    page = (hostile_run / "report.html").read_text(encoding="utf-8")
    document = parse_html(page)
    assert "<script" not in page.lower()
    assert "<b>" not in page
    assert not document.find_all("script")
    assert not document.find_all("b")
    assert HOSTILE in document.find_all("h1")[0].text()
    # In the figures too: the headline chart names the scenario, the outcome chart its label.
    svg_text = [t.text() for t in document.find_all("text")]
    assert any(HOSTILE in text for text in svg_text)
    # "$" stays a dollar sign, not the start of mathtext.
    assert any("Costs exceed $5bn" in text for text in svg_text)


def test_hostile_text_is_literal_in_the_pdf(hostile_run):
    text = read_pdf(hostile_run / "report.pdf").text
    assert HOSTILE in text
    assert "Costs exceed $5bn and $10bn" in text


# ----------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_pdf_pages_size_and_text(tmp_path, copy_run, summary, paper):
    run_dir = copy_run(tmp_path)
    assert write_reports(run_dir, formats={"pdf"}, paper=paper) == [run_dir / "report.pdf"]
    assert not (run_dir / "report.html").exists()
    pdf = read_pdf(run_dir / "report.pdf")
    pages = len(pdf.sizes)
    assert pages >= 2
    assert set(pdf.sizes) == {PAPER_POINTS[paper]}
    assert pdf.title.startswith(summary["title"])  # the HTML page's <title>
    text = pdf.text
    assert summary["title"] in text
    for name, scenario in summary["scenarios"].items():
        assert name in text
        assert format_probability(scenario["posterior"]["mean"]) in text
    # The running title and page numbers are in the page margins.
    assert f"Page 2 of {pages}" in pdf.texts[1]
    assert text.count(summary["title"]) >= 2


# ----------------------------------------------------------------------------- the API


def test_figures_are_drawn_once_for_both_outputs(tmp_path, monkeypatch, copy_run):
    import forecast.report.figures as figures

    calls = []
    original = figures.draw_report_figures
    monkeypatch.setattr(
        figures, "draw_report_figures", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    run_dir = copy_run(tmp_path)
    write_reports(run_dir, formats={"html", "pdf"})
    assert len(calls) == 1


def test_unknown_format_or_paper_is_refused(tmp_path, copy_run):
    run_dir = copy_run(tmp_path)
    with pytest.raises(ValueError, match="docx"):
        write_reports(run_dir, formats={"html", "docx"})
    with pytest.raises(ValueError, match="a3"):
        write_reports(run_dir, formats={"html"}, paper="a3")
    assert not list(run_dir.glob("report.*"))


def test_missing_or_foreign_run_files_raise_report_error(tmp_path, copy_run):
    with pytest.raises(ReportError, match="summary.json"):
        write_reports(tmp_path, formats={"html"})
    run_dir = copy_run(tmp_path)
    edit_summary(run_dir, lambda s: s.update(format=1))
    with pytest.raises(ReportError, match="summary.json: summary format 1; .* reads format 2"):
        write_reports(run_dir, formats={"html"})
    run_dir = copy_run(tmp_path, "no-posterior")
    (run_dir / "posterior.nc").unlink()
    with pytest.raises(ReportError, match="posterior.nc"):
        write_reports(run_dir, formats={"html"})


# ----------------------------------------------------------------------------- index.html


def test_index_lists_every_run_with_title_dates_and_headline(tmp_path, summary, copy_run):
    first = copy_run(tmp_path, "singapore")
    write_reports(first, formats={"html"})
    second = copy_run(tmp_path, "hanoi")

    def retitle(s):
        s["title"] = "Hanoi summit, 2019"
        s["as_of"] = "2019-02-20"
        s["created"] = "2026-11-30T14:30:00+00:00"
        s["scenarios"]["grand_bargain"]["posterior"]["mean"] = 0.93

    edited = edit_summary(second, retitle)
    (tmp_path / "not-a-run").mkdir()

    path = write_index(tmp_path)
    assert path == tmp_path / "index.html"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["index.html"]
    page = path.read_text(encoding="utf-8")
    document = parse_html(page)
    assert (
        external_references(parse_html(page.replace('href="singapore/report.html"', 'href="#"')))
        == []
    )
    rows = {
        row.attrs["data-run"]: row for row in document.find_all("tr") if "data-run" in row.attrs
    }
    assert list(rows) == ["hanoi", "singapore"]

    singapore = rows["singapore"]
    link = singapore.find_all("a")[0]
    assert link.attrs["href"] == "singapore/report.html"
    assert link.text() == summary["title"]
    assert summary["as_of"] in singapore.text()
    assert describe_time(summary["created"]) in singapore.text()
    top = max(summary["scenarios"], key=lambda n: summary["scenarios"][n]["posterior"]["mean"])
    assert top in singapore.text()
    assert format_probability(summary["scenarios"][top]["posterior"]["mean"]) in singapore.text()

    hanoi = rows["hanoi"]
    assert not hanoi.find_all("a"), "no report written yet, so nothing to link"
    assert "Hanoi summit, 2019" in hanoi.text() and "2019-02-20" in hanoi.text()
    assert "30 November 2026" in hanoi.text()
    items = [li.text() for li in hanoi.find_all("li")]
    assert items[0].startswith("grand_bargain") and "93%" in items[0]
    assert edited["title"] == "Hanoi summit, 2019"


def test_index_of_an_empty_folder_says_so(tmp_path):
    page = write_index(tmp_path).read_text(encoding="utf-8")
    assert "No runs here yet" in page


# ----------------------------------------------------------------------------- real browser


class DevToolsPipe:
    """Chromium's DevTools protocol over --remote-debugging-pipe (fds 3 and 4): no socket, no
    websocket library. Messages are JSON, each ended by a NUL byte."""

    def __init__(self, user_data_dir: pathlib.Path) -> None:
        to_chrome_read, self._write = os.pipe()
        self._read, from_chrome_write = os.pipe()

        def give_chrome_its_pipes():
            # Moved above 3 and 4 first, so neither dup2 can close the other's source.
            reading = fcntl.fcntl(to_chrome_read, fcntl.F_DUPFD, 10)
            writing = fcntl.fcntl(from_chrome_write, fcntl.F_DUPFD, 10)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                f"--user-data-dir={user_data_dir}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            # Chromium reads the protocol on fd 3 and writes on fd 4; preexec_fn is safe here as
            # the test process starts no threads.
            preexec_fn=give_chrome_its_pipes,
        )
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, *, session: str | None = None):
        """Call a method and wait for its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(timeout=30)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        """Wait for an event (or return one already received)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(timeout=max(0.0, deadline - time.monotonic()))
            self.events.append(event)
            if event.get("method") == method:
                return event

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late console errors, failed requests)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self.events.append(self._receive(timeout=remaining))
            except TimeoutError:
                return

    def _receive(self, timeout: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], timeout)
            if not ready:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            os.write(self._write, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._write)
            os.close(self._read)


def problems_in(events: list[dict]) -> list[str]:
    """Console errors, exceptions, failed loads and requests that left the file system."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            problems.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            problems.append(f"console.error: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            problems.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            problems.append(f"failed request: {params.get('errorText')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:")):
                problems.append(f"request to {url}")
    return problems


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def chromium_tab(tmp_path_factory):
    """One headless Chromium for the module, with a tab whose events are being recorded."""
    if not CHROMIUM:
        pytest.skip(
            "no Chromium on PATH (chromium or chromium-browser), so the browser tests cannot run;"
            " install it with `apt-get install chromium` (.ci/run, which CI runs, installs it)"
        )
    browser = DevToolsPipe(tmp_path_factory.mktemp("chromium-profile"))
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session=session)
        yield browser, session
    finally:
        browser.close()


def open_in_chromium(tab, path: pathlib.Path, width: int, height: int, *, mobile: bool = False):
    """Load a page at a screen size: the problems seen, its layout widths, a screenshot PNG."""
    browser, session = tab
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        session=session,
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": path.as_uri()}, session=session)
    browser.wait_for("Page.loadEventFired")
    browser.drain(0.5)  # late console errors and failed requests
    problems = problems_in(browser.events)
    layout = browser.send(
        "Runtime.evaluate",
        {
            "expression": """JSON.stringify({
                page: document.documentElement.scrollWidth,
                view: window.innerWidth,
                charts: [...document.querySelectorAll('svg.chart')].map(
                    s => s.getBoundingClientRect().width),
                column: (document.querySelector('main') || document.body).clientWidth})""",
            "returnByValue": True,
        },
        session=session,
    )
    shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
    return problems, json.loads(layout["result"]["value"]), base64.b64decode(shot["data"])


@pytest.mark.slow
def test_browser_check_catches_failed_requests_and_console_errors(chromium_tab, tmp_path):
    page = tmp_path / "bad.html"
    # Port 9 on this machine refuses at once: a request that leaves the file system, and fails.
    page.write_text(
        '<!DOCTYPE html><title>bad</title><img src="http://127.0.0.1:9/x.png">'
        '<script>console.error("boom"); undefinedFunction();</script>',
        encoding="utf-8",
    )
    problems, _, _ = open_in_chromium(chromium_tab, page, 800, 600)
    assert any(p.startswith("request to http://127.0.0.1:9/") for p in problems), problems
    assert any(p.startswith("failed request") for p in problems), problems
    assert any(p.startswith("console.error") for p in problems), problems
    assert any(p.startswith("exception") for p in problems), problems


@pytest.mark.slow
@pytest.mark.parametrize(
    ("screen", "width", "height", "mobile"),
    [("wide", 1280, 900, False), ("phone", 390, 844, True)],
)
def test_report_loads_in_chromium_without_errors(
    chromium_tab, report_run, tmp_path, screen, width, height, mobile
):
    problems, measured, png = open_in_chromium(
        chromium_tab, report_run / "report.html", width, height, mobile=mobile
    )
    assert problems == []
    # Nothing wider than the screen: tables scroll inside their box, charts shrink.
    assert measured["page"] <= measured["view"], measured
    assert measured["charts"] and all(0 < w <= measured["column"] for w in measured["charts"])
    (tmp_path / f"report-{screen}.png").write_bytes(png)
    assert png_size(png) == (width, height)
    # A blank or error page compresses to a few KB; the report's first screen does not.
    assert len(png) > 20_000, len(png)
