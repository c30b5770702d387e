"""The report's "What drives the answer": tornado data, their labels in the analyst's words, the
chart's structure, the power-scaling rows, and the section in the page, on the small hand-written
summary of test_report_format.py with a sensitivity block added by hand (no sampling).
"""

from __future__ import annotations

import copy
import re

import pytest
from helpers import read_pdf
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from test_report_format import make_posterior, make_summary, write_run

from forecast.report import write_reports
from forecast.report.canvas import FIGURE_WIDTH, LOWERED_COLOUR, RAISED_COLOUR
from forecast.report.charts import TORNADO_BAR_HEIGHT, TORNADO_LABEL_WIDTH, plot_tornado
from forecast.report.figure_data import (
    Tornado,
    TornadoBar,
    compute_tornado,
    compute_tornadoes,
)
from forecast.report.figures import draw_report_figures
from forecast.report.html import build_report_context
from forecast.report.wording import describe_input_values, describe_inputs, rank_scenarios

HOSTILE = "<script>alert(1)</script>"


def entry(
    path,
    low,
    high,
    *,
    kind="prior",
    category=None,
    value=0.3,
    values=(0.2, 0.4),
    khat=0.2,
    refit=(),
):
    """A tornado entry of summary.json moving every scenario of make_summary by the same
    amounts: low and high are differences from each scenario's posterior mean."""
    means = {name: s["posterior"]["mean"] for name, s in make_summary()["scenarios"].items()}
    result = {
        "input": path,
        "kind": kind,
        "value": value,
        "values": list(values),
        "effects": {
            # An outcome's effects, as the engine writes them; the report draws scenarios only.
            "summit_held": {"low": 0.8, "high": 0.9},
            **{name: {"low": m + low, "high": m + high} for name, m in means.items()},
        },
        "khat": khat,
        "refit": list(refit),
    }
    if category is not None:
        result["category"] = category
    return result


def make_sensitivity() -> dict:
    """Seven inputs, one of each kind make_summary has, with swings known in advance."""
    return {
        "settings": {
            "shift": 0.1,
            "khat_limit": 0.7,
            "power_threshold": 0.05,
            "refit": {"chains": 2, "draws": 300, "tune": 300},
        },
        "tornado": [
            entry("outcomes.summit_held.prior", -0.02, 0.03, value=0.8, values=(0.7, 0.9)),
            entry(
                "outcomes.deal_form.prior.summit_held", -0.05, 0.06, category="freeze_for_relief"
            ),
            entry("outcomes.deal_form.prior.otherwise", 0.01, -0.01, category="collapse"),
            entry(
                'outcomes.sanctions_eased.prior["deal_form == freeze_for_relief"]',
                -0.1,
                0.08,
                refit=["low"],
                khat=0.85,
            ),
            entry("outcomes.sanctions_eased.prior.otherwise", 0.0, 0.0),
            entry("evidence[0].weight", 0.04, -0.03, kind="evidence", value=0.5, values=(0.0, 1.0)),
            entry("evidence[1].weight", -0.01, 0.0, kind="evidence", value=1, values=(0.0, 1.0)),
        ],
        "power_scaling": {
            "summit_held": {"prior": 0.01, "likelihood": 0.2, "diagnosis": None},
            "deal_form=talks_drag_on": {
                "prior": 0.09,
                "likelihood": 0.12,
                "diagnosis": "prior-data conflict",
            },
            "deal_form=freeze_for_relief": {"prior": 0.01, "likelihood": 0.02, "diagnosis": None},
            "deal_form=collapse": {
                "prior": 0.3,
                "likelihood": 0.01,
                "diagnosis": "weak likelihood",
            },
            "sanctions_eased": {"prior": 0.06, "likelihood": 0.01, "diagnosis": "weak likelihood"},
            "stalemate": {"prior": 0.02, "likelihood": 0.01, "diagnosis": None},
            "relief": {"prior": 0.07, "likelihood": 0.06, "diagnosis": "prior-data conflict"},
            "freeze": {"prior": 0.11, "likelihood": 0.0, "diagnosis": "weak likelihood"},
        },
    }


def make_summary_with_sensitivity() -> dict:
    summary = make_summary()
    summary["sensitivity"] = make_sensitivity()
    return summary


def bar(label: str, low: float, high: float) -> TornadoBar:
    return TornadoBar(label, "mean 0.30, moved 0.20 \u2192 0.40", low, high, False)


def text_of(html: str) -> str:
    """The text of a page or fragment, tags removed and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# ----------------------------------------------------------------------------- labels


def test_inputs_are_named_in_the_analysts_words():
    summary = make_summary_with_sensitivity()
    tornado = summary["sensitivity"]["tornado"]
    tornado.append(entry("outcomes.unknown.prior", 0.0, 0.0))
    labels = describe_inputs(tornado, summary["outcomes"], summary["evidence"])
    assert labels == [
        "Prior: Summit held",
        # A category by its label after its outcome's; the row by its condition, as data.
        "Prior: Deal form: Freeze for relief, given Summit held: yes",
        # A category without a label by its name; otherwise by what it covers.
        "Prior: Deal form: collapse, given Summit held: no",
        "Prior: Sanctions eased, given Deal form: Freeze for relief",
        "Prior: Sanctions eased, given Deal form: Talks drag on or collapse",
        # Evidence numbered as in the evidence table, by its source or what it bears on.
        "Evidence 1: UN resolutions, 2006-2017",
        "Evidence 2, on Deal form",
        # An input the summary has no row for keeps its key path.
        "outcomes.unknown.prior",
    ]


@pytest.mark.parametrize(
    ("item", "text"),
    [
        (entry("p", 0, 0, value=0.3, values=(0.2, 0.4)), "mean 0.30, moved 0.20 \u2192 0.40"),
        (entry("p", 0, 0, value=0.04, values=(0.01, 0.14)), "mean 0.04, moved 0.01 \u2192 0.14"),
        (
            entry("evidence[0].weight", 0, 0, kind="evidence", value=0.5, values=(0.0, 1.0)),
            "weight 0.5, set 0 \u2192 1",
        ),
    ],
)
def test_the_values_an_input_was_moved_between(item, text):
    assert describe_input_values(item) == text


# ----------------------------------------------------------------------------- tornado data


def test_tornado_bars_are_the_largest_swings_first_and_centred_on_the_mean():
    summary = make_summary_with_sensitivity()
    tornado = summary["sensitivity"]["tornado"]
    labels = describe_inputs(tornado, summary["outcomes"], summary["evidence"])
    mean = summary["scenarios"]["freeze"]["posterior"]["mean"]
    result = compute_tornado("freeze", mean, tornado, labels, khat_limit=0.7)
    assert result.scenario == "freeze" and result.mean == mean
    assert [b.label for b in result.bars] == [
        "Prior: Sanctions eased, given Deal form: Freeze for relief",  # 0.18
        "Prior: Deal form: Freeze for relief, given Summit held: yes",  # 0.11
        "Evidence 1: UN resolutions, 2006-2017",  # 0.07
        "Prior: Summit held",  # 0.05
        "Prior: Deal form: collapse, given Summit held: no",  # 0.02
        "Evidence 2, on Deal form",  # 0.01
        "Prior: Sanctions eased, given Deal form: Talks drag on or collapse",  # 0
    ]
    swings = [b.swing for b in result.bars]
    assert swings == sorted(swings, reverse=True)
    first = result.bars[0]
    assert first.low == pytest.approx(mean - 0.1) and first.high == pytest.approx(mean + 0.08)
    assert first.values == "mean 0.30, moved 0.20 \u2192 0.40"
    assert result.more == 0 and result.more_swing == 0


def test_inputs_that_move_a_scenario_equally_keep_the_files_order():
    tornado = [
        entry("outcomes.a.prior", 0.0, 0.0),
        entry("outcomes.b.prior", 0.0, 0.0),
        entry("outcomes.c.prior", 0.0, 0.0),
    ]
    # Swings of exactly 0.25, 0.5 and 0.25 (binary fractions: no rounding to break the tie).
    for item, (low, high) in zip(tornado, [(0.25, 0.5), (0.0, 0.5), (0.5, 0.75)], strict=True):
        item["effects"]["freeze"] = {"low": low, "high": high}
    result = compute_tornado("freeze", 0.5, tornado, ["a", "b", "c"], khat_limit=0.7)
    assert [b.label for b in result.bars] == ["b", "a", "c"]


def test_a_tornado_draws_at_most_ten_bars_and_counts_the_rest():
    tornado = [entry(f"outcomes.x{i}.prior", -0.01 * i, 0.01 * i) for i in range(13)]
    labels = [f"input {i}" for i in range(13)]
    result = compute_tornado("freeze", 0.62, tornado, labels, khat_limit=0.7)
    assert [b.label for b in result.bars] == [f"input {i}" for i in range(12, 2, -1)]
    assert result.more == 3
    assert result.more_swing == pytest.approx(0.04)  # input 2: 0.02 down and 0.02 up
    assert (
        len(compute_tornado("freeze", 0.62, tornado, labels, khat_limit=0.7, max_bars=4).bars) == 4
    )


def test_bars_worked_out_by_sampling_again_are_marked():
    tornado = [
        entry("outcomes.a.prior", -0.1, 0.1, refit=["low"], khat=0.85),
        # k-hat past the limit marks a bar even where no side is listed as sampled again.
        entry("outcomes.b.prior", -0.1, 0.1, refit=[], khat=0.9),
        entry("outcomes.c.prior", -0.1, 0.1, refit=[], khat=0.69),
        entry("outcomes.d.prior", -0.1, 0.1, refit=[], khat=None),
        # Reweighted after moving the draws (moment matching): as trusted as plain reweighting.
        {**entry("outcomes.e.prior", -0.1, 0.1, refit=[], khat=0.9), "moment_matched": ["low"]},
    ]
    labels = ["a", "b", "c", "d", "e"]
    result = compute_tornado("freeze", 0.62, tornado, labels, khat_limit=0.7)
    assert {b.label: b.sampled_again for b in result.bars} == {
        "a": True,
        "b": True,
        "c": False,
        "d": True,
        "e": False,
    }


def test_a_tornado_for_each_headline_scenario_and_none_without_sensitivity():
    summary = make_summary_with_sensitivity()
    ranked = [name for name, _ in rank_scenarios(summary["scenarios"])]
    assert [t.scenario for t in compute_tornadoes(summary, khat_limit=0.7)] == ranked[:3]
    assert [t.scenario for t in compute_tornadoes(summary, khat_limit=0.7, count=2)] == ranked[:2]
    assert compute_tornadoes(make_summary(), khat_limit=0.7) == []
    # A scenario the analysis has no effects for gets no tornado.
    for item in summary["sensitivity"]["tornado"]:
        del item["effects"][ranked[0]]
    assert [t.scenario for t in compute_tornadoes(summary, khat_limit=0.7)] == ranked[1:3]


# ----------------------------------------------------------------------------- the chart


def test_the_tornado_chart_keeps_bars_and_labels_on_the_figure_in_order():
    bars = (
        bar("Prior: the longest, whose label is long enough to wrap onto several lines", 0.1, 0.9),
        bar("Prior: a bar that moves one way only", 0.5, 0.55),
        bar("Evidence 1: nothing moves", 0.5, 0.5),
    )
    figure = plot_tornado(Tornado("freeze", 0.5, bars, more=4, more_swing=0.01))
    height = figure.get_size_inches()[1]
    texts = [a for a in figure.artists if isinstance(a, Text)]
    labels = [t for t in texts if t.get_text().startswith(("Prior:", "Evidence"))]
    # Each label once, top to bottom in the bars' order (y runs down from the top).
    assert [t.get_text().split()[1] for t in labels] == ["the", "a", "1:"]
    assert [t.get_position()[1] for t in labels] == sorted(t.get_position()[1] for t in labels)
    for text in texts:
        x, y = text.get_position()
        assert 0 <= x <= FIGURE_WIDTH and 0 <= y <= height, text.get_text()
    bars_drawn = [
        a
        for a in figure.artists
        if isinstance(a, Rectangle) and a.get_height() == pytest.approx(TORNADO_BAR_HEIGHT)
    ]
    colours = {to_hex(a.get_facecolor()) for a in bars_drawn}
    assert colours == {LOWERED_COLOUR.lower(), RAISED_COLOUR.lower()}
    for rectangle in bars_drawn:
        # On the plot, with room for the probability at its end.
        assert rectangle.get_x() >= TORNADO_LABEL_WIDTH
        assert rectangle.get_x() + rectangle.get_width() <= FIGURE_WIDTH - 0.4
    # The probabilities at the ends of the longest bar.
    assert {"10%", "90%"} <= {t.get_text() for t in texts}


def test_a_bar_sampled_again_carries_a_dagger():
    marked = TornadoBar("Prior: x", "mean 0.30, moved 0.20 \u2192 0.40", 0.4, 0.6, True)
    figure = plot_tornado(Tornado("freeze", 0.5, (marked,)))
    assert any(t.get_text().endswith("\u2020") for t in figure.artists if isinstance(t, Text))


# ----------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def context() -> dict:
    summary = make_summary_with_sensitivity()
    return build_report_context(
        summary, "version: 1\n", draw_report_figures(summary, make_posterior())
    )


def test_power_scaling_rows_put_the_flagged_first_in_words(context):
    rows = context["sensitivity"]["power_scaling"]
    assert [(r["label"], r["diagnosis"]) for r in rows] == [
        ("Deal form: Talks drag on", "the evidence disagrees with the prior"),
        ("relief", "the evidence disagrees with the prior"),
        ("Deal form: collapse", "the answer rests on the prior; the evidence says little"),
        ("Sanctions eased", "the answer rests on the prior; the evidence says little"),
        ("freeze", "the answer rests on the prior; the evidence says little"),
        ("Summit held", "the evidence drives it"),
        ("Deal form: Freeze for relief", "neither moves it much"),
        ("stalemate", "neither moves it much"),
    ]
    assert [r["kind"] for r in rows[:2]] == ["outcome", "scenario"]
    first, weak, quiet = rows[0], rows[2], rows[5]
    assert (first["prior"], first["likelihood"]) == ("0.090", "0.120")
    assert (first["prior_flag"], first["likelihood_flag"]) == (True, True)
    assert (weak["prior_flag"], weak["likelihood_flag"]) == (True, False)
    assert (quiet["prior_flag"], quiet["likelihood_flag"], quiet["flagged"]) == (
        False,
        False,
        False,
    )
    assert context["sensitivity"]["threshold"] == "0.05"


def test_each_headline_tornado_names_what_moves_it_most(context):
    tornadoes = context["sensitivity"]["tornadoes"]
    assert [t["scenario"] for t in tornadoes] == ["freeze", "stalemate", "relief"]
    freeze = tornadoes[0]
    assert freeze["top"]["label"] == "Prior: Sanctions eased, given Deal form: Freeze for relief"
    assert (freeze["top"]["low"], freeze["top"]["high"]) == ("52%", "70%")
    assert freeze["sampled_again"] and freeze["figure"]
    assert freeze["diagnosis"] == "the answer rests on the prior; the evidence says little"
    assert tornadoes[1]["diagnosis"] is None  # stalemate: nothing to warn of


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    summary = make_summary_with_sensitivity()
    summary["evidence"][0]["source"] = HOSTILE
    summary["outcomes"]["summit_held"]["label"] = "Costs exceed $5bn <i>and</i> more"
    run_dir = write_run(tmp_path_factory.mktemp("sensitivity") / "run", summary)
    write_reports(run_dir, formats={"html"})
    return (run_dir / "report.html").read_text(encoding="utf-8")


def test_the_section_follows_the_outcomes_with_a_tornado_per_headline_scenario(page):
    sections = re.findall(r'<section id="([\w-]+)"', page)
    assert sections[:4] == ["scenarios", "outcomes", "sensitivity", "evidence"]
    assert 'href="#sensitivity"' in page
    section = page[page.index('<section id="sensitivity">') :]
    section = section[: section.index("</section>")]
    articles = re.findall(
        r'<article class="tornado" data-scenario="(\w+)">(.*?)</article>', section, re.S
    )
    assert [name for name, _ in articles] == ["freeze", "stalemate", "relief"]
    for _, article in articles:
        assert article.count("<svg ") == 1
    text = text_of(section)
    assert "What drives the answer" in text and "How much rests on the priors" in text
    assert "0.05 or more counts as sensitive" in text
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\">", section)
    assert len(rows) == len(make_sensitivity()["power_scaling"])
    assert "\u2020 Sampled again" in text


def test_hostile_text_in_a_tornado_stays_text(page):
    assert "<script" not in page and "<i>" not in page
    svg_text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", page))
    assert "Evidence 1: &lt;script&gt;alert(1)&lt;/script&gt;" in svg_text
    assert "Costs exceed $5bn &lt;i&gt;and&lt;/i&gt; more" in svg_text


def test_the_pdf_has_the_section(tmp_path):
    summary = make_summary_with_sensitivity()
    run_dir = write_run(tmp_path / "run", summary)
    write_reports(run_dir, formats={"pdf"})
    text = read_pdf(run_dir / "report.pdf").text
    assert "What drives the answer" in text and "How much rests on the priors" in text
    assert "Prior: Sanctions eased, given Deal form: Freeze for relief" in text
    assert "the evidence disagrees with the prior" in text


def test_a_summary_without_sensitivity_renders_without_the_section(tmp_path):
    summary = copy.deepcopy(make_summary())
    assert "sensitivity" not in summary
    run_dir = write_run(tmp_path / "run", summary)
    write_reports(run_dir, formats={"html"})
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="sensitivity"' not in page and 'href="#sensitivity"' not in page
    assert "<h2>What drives the answer</h2>" not in page
