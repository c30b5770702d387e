"""The report on a small summary.json of format 2 written by hand: labels, conditions as data,
descriptions and sources, limits read from the run, and nothing of any other format accepted.

Every value here is chosen so that a report showing an identifier where a label belongs, or
re-parsing a row key instead of reading its `given`, fails a test.
"""

from __future__ import annotations

import copy
import json
import pathlib
import re

import numpy as np
import pytest
import xarray as xr

from forecast.report import ReportError, write_index, write_reports
from forecast.report.figure_data import (
    compute_evidence_groups,
    compute_outcome_groups,
    compute_rank_plots,
)
from forecast.report.figures import draw_report_figures
from forecast.report.html import build_report_context
from forecast.report.wording import (
    describe_data,
    describe_given,
    describe_row,
    describe_value,
    describe_when,
    format_number,
    parameter_label,
    rank_scenarios,
)

HOSTILE = "<script>alert(1)</script>"


def stats(mean: float, half_width: float = 0.1) -> dict:
    """A STATS object centred on mean."""
    low, high = max(0.0, mean - half_width), min(1.0, mean + half_width)
    quantiles = {
        "0.025": low,
        "0.05": low,
        "0.25": (low + mean) / 2,
        "0.5": mean,
        "0.75": (mean + high) / 2,
        "0.95": high,
        "0.975": high,
    }
    return {
        "mean": mean,
        "sd": half_width / 2,
        "median": mean,
        "hdi90": [low, high],
        "mcse": 0.004,
        "quantiles": quantiles,
    }


def pair(prior: float, posterior: float) -> dict:
    return {"prior": stats(prior), "posterior": stats(posterior)}


def make_summary() -> dict:
    """A format-2 summary of three outcomes: a binary root, a categorical child with labels
    (one category without), and a binary grandchild with an otherwise row."""
    categories = {
        "talks_drag_on": {"label": "Talks drag on", **pair(0.5, 0.55)},
        "freeze_for_relief": {"label": "Freeze for relief", **pair(0.3, 0.25)},
        "collapse": {"label": "collapse", **pair(0.2, 0.2)},
    }
    return {
        "format": 2,
        "scenario": "tiny",
        "title": "A tiny summit",
        "question": "What will the summit bring?",
        "as_of": "2018-05-20",
        "horizon": None,
        "source_file": "tiny.yaml",
        "input_sha256": "ab" * 32,
        "seed": 7,
        "command": "forecast run tiny.yaml",
        "created": "2026-11-29T09:00:00+00:00",
        "versions": {"forecast": "0.1.0"},
        "sampler": {"name": "PyMC NUTS", "chains": 2, "draws": 200},
        "outcomes": {
            "summit_held": {
                "label": "Summit held",
                "description": "Yes if they meet. Costs above $5bn & <b>more</b> do not count.",
                "kind": "binary",
                "given": [],
                "priors_stated": {"": "interval [0.6, 0.95]"},
                **pair(0.8, 0.85),
            },
            "deal_form": {
                "label": "Deal form",
                "description": None,
                "kind": "categorical",
                "given": ["summit_held"],
                "priors_stated": {"summit_held": "dirichlet", "otherwise": "dirichlet"},
                "categories": categories,
                "rows": [
                    {
                        "key": "summit_held",
                        "given": {"summit_held": True},
                        "combinations": [{"summit_held": True}],
                        "categories": {c: pair(0.3, 0.3) for c in categories},
                    },
                    {
                        "key": "otherwise",
                        "given": None,
                        "combinations": [{"summit_held": False}],
                        "categories": {c: pair(0.3, 0.3) for c in categories},
                    },
                ],
            },
            "sanctions_eased": {
                "label": "Sanctions eased",
                "description": "Formal relief, not looser enforcement.",
                "kind": "binary",
                "given": ["deal_form"],
                "priors_stated": {"deal_form == freeze_for_relief": "mean 0.6", "otherwise": "x"},
                **pair(0.3, 0.35),
                "rows": [
                    {
                        "key": "deal_form == freeze_for_relief",
                        "given": {"deal_form": "freeze_for_relief"},
                        "combinations": [{"deal_form": "freeze_for_relief"}],
                        **pair(0.6, 0.61),
                    },
                    {
                        "key": "otherwise",
                        "given": None,
                        "combinations": [{"deal_form": "talks_drag_on"}, {"deal_form": "collapse"}],
                        **pair(0.1, 0.12),
                    },
                ],
            },
        },
        "scenarios": {
            "stalemate": {
                "expression": "deal_form == talks_drag_on",
                "method": "exact",
                "mcse": 0.003,
                **pair(0.4, 0.47),
            },
            "relief": {
                "expression": "sanctions_eased",
                "method": "exact",
                "mcse": 0.002,
                **pair(0.3, 0.35),
            },
            "freeze": {
                "expression": "deal_form == freeze_for_relief and sanctions_eased",
                "method": "simulated",
                "mcse": 0.006,
                **pair(0.2, 0.62),
            },
        },
        "evidence": [
            {
                "outcome": "sanctions_eased",
                "when": "deal_form == freeze_for_relief",
                "row": "deal_form == freeze_for_relief",
                "given": {"deal_form": "freeze_for_relief"},
                "source": "UN resolutions, 2006-2017",
                "weight": 0.5,
                "data": {"successes": 1, "trials": 3},
                "with": stats(0.5),
                "without": stats(0.6),
                "method": "importance reweighting (PSIS, k-hat 0.21)",
            },
            {
                "outcome": "deal_form",
                "when": None,
                "row": None,
                "given": None,
                "source": None,
                "weight": 1,
                "data": {"counts": {"talks_drag_on": 2, "freeze_for_relief": 0, "collapse": 1}},
                "with": {c: stats(0.3) for c in categories},
                "without": {c: stats(0.3) for c in categories},
                "method": "importance reweighting (PSIS, k-hat 0.10)",
            },
        ],
        "reference_classes": [
            {
                "outcome": "sanctions_eased",
                "when": "otherwise",
                "row": "otherwise",
                "given": None,
                "pooling": "partial",
                "source": "Sanctions relief after talks, 1994-2015",
                "target": stats(0.12),
                "class_mean": stats(0.2),
                "concentration": {
                    **stats(0.5),
                    "mean": 7000.0,
                    "median": 6.0,
                    "hdi90": [2.0, 20.0],
                },
                "cases": [
                    {
                        "name": "Iran, 2015",
                        "successes": 1,
                        "trials": 2,
                        "raw_rate": 0.5,
                        "pooled": stats(0.3),
                    }
                ],
            }
        ],
        "worlds": [
            {
                "values": {
                    "summit_held": True,
                    "deal_form": "freeze_for_relief",
                    "sanctions_eased": False,
                },
                "probability": 0.21,
                "prior_probability": 0.1,
            },
            {
                "values": {"summit_held": False, "deal_form": "collapse", "sanctions_eased": False},
                "probability": 0.1,
                "prior_probability": 0.12,
            },
        ],
        "diagnostics": {
            "chains": 2,
            "draws": 200,
            "max_rhat": 1.015,
            "min_ess_bulk": 350.0,
            "min_ess_tail": 500.0,
            "divergences": 0,
            "ok": True,
            # Limits unlike the usual 1.01 and 400, so that a report with its own constants
            # flags the wrong parameters.
            "rhat_limit": 1.02,
            "ess_limit": 300,
            "warnings": [],
            "parameters": [
                {"name": "summit_held", "rhat": 1.015, "ess_bulk": 350.0, "ess_tail": 500.0},
                {
                    "name": "reference_class.0.mean",
                    "rhat": 1.03,
                    "ess_bulk": 250.0,
                    "ess_tail": 600,
                },
            ],
        },
    }


def make_posterior(seed: int = 0) -> xr.Dataset:
    """Draws named as posterior.nc names them, including a sampling coordinate."""
    rng = np.random.default_rng(seed)
    shape = (2, 50)
    return xr.Dataset(
        {
            "summit_held": (("chain", "draw"), rng.uniform(size=shape)),
            "deal_form": (
                ("chain", "draw", "deal_form.row", "deal_form.category"),
                rng.dirichlet([1, 1, 1], size=(*shape, 2)),
            ),
            "sanctions_eased": (
                ("chain", "draw", "sanctions_eased.row"),
                rng.uniform(size=(*shape, 2)),
            ),
            "reference_class.0.mean": (("chain", "draw"), rng.uniform(size=shape)),
            "reference_class.0.offset": (("chain", "draw", "case"), rng.normal(size=(*shape, 1))),
        },
        coords={
            "deal_form.row": ["summit_held", "otherwise"],
            "deal_form.category": ["talks_drag_on", "freeze_for_relief", "collapse"],
            "sanctions_eased.row": ["deal_form == freeze_for_relief", "otherwise"],
        },
    )


def write_run(run_dir: pathlib.Path, summary: dict) -> pathlib.Path:
    """A run folder with this summary, the posterior above and a scenario file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (run_dir / "scenario.yaml").write_text("version: 1\ntitle: A tiny summit\n", encoding="utf-8")
    make_posterior().to_netcdf(run_dir / "posterior.nc", group="posterior", engine="h5netcdf")
    return run_dir


@pytest.fixture(scope="module")
def summary() -> dict:
    return make_summary()


@pytest.fixture(scope="module")
def outcomes(summary) -> dict:
    return summary["outcomes"]


@pytest.fixture(scope="module")
def context(summary) -> dict:
    figures = draw_report_figures(summary, make_posterior())
    return build_report_context(summary, "version: 1\n", figures)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> str:
    run_dir = write_run(tmp_path_factory.mktemp("tiny") / "run", make_summary())
    write_reports(run_dir, formats={"html"})
    return (run_dir / "report.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    """The text of a page or fragment, tags removed and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# ----------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("given", "text"),
    [
        ({"summit_held": True}, "Summit held: yes"),
        ({"summit_held": False}, "Summit held: no"),
        ({"deal_form": "talks_drag_on"}, "Deal form: Talks drag on"),
        ({"deal_form": "collapse"}, "Deal form: collapse"),
        (
            {"summit_held": True, "deal_form": "freeze_for_relief"},
            "Summit held: yes; Deal form: Freeze for relief",
        ),
    ],
)
def test_a_condition_is_written_in_labels_from_its_data(outcomes, given, text):
    assert describe_given(given, outcomes) == text


def test_a_row_is_described_from_its_given_not_its_key(outcomes):
    # A key the grammar would not accept: only `given` may be read.
    row = {"key": "summit_held = yes", "given": {"summit_held": True}, "combinations": []}
    assert describe_row(row, "deal_form", outcomes) == "Summit held: yes"


def test_otherwise_lists_what_it_covers_when_that_is_short(outcomes):
    rows = {row["key"]: row for row in outcomes["sanctions_eased"]["rows"]}
    assert (
        describe_row(rows["otherwise"], "sanctions_eased", outcomes)
        == "Otherwise (Deal form: Talks drag on or collapse)"
    )
    rows = {row["key"]: row for row in outcomes["deal_form"]["rows"]}
    assert describe_row(rows["otherwise"], "deal_form", outcomes) == "Otherwise (Summit held: no)"


def test_otherwise_with_a_parent_free_names_only_the_fixed_one():
    outcomes = {
        "a": {"label": "A", "kind": "binary", "given": []},
        "b": {"label": "B", "kind": "binary", "given": []},
        "c": {"label": "C", "kind": "binary", "given": ["a", "b"]},
    }
    covered = [{"a": False, "b": True}, {"a": False, "b": False}]
    row = {"key": "otherwise", "given": None, "combinations": covered}
    assert describe_row(row, "c", outcomes) == "Otherwise (A: no)"


def test_otherwise_that_is_no_product_or_too_long_is_just_otherwise():
    outcomes = {
        "a": {"label": "A", "kind": "binary", "given": []},
        "b": {"label": "B", "kind": "binary", "given": []},
        "c": {"label": "C" * 120, "kind": "binary", "given": []},
        "d": {"label": "D", "kind": "binary", "given": ["a", "b"]},
        "e": {"label": "E", "kind": "binary", "given": ["c"]},
    }
    diagonal = [{"a": True, "b": True}, {"a": False, "b": False}]
    row = {"key": "otherwise", "given": None, "combinations": diagonal}
    assert describe_row(row, "d", outcomes) == "Otherwise"
    row = {"key": "otherwise", "given": None, "combinations": [{"c": False}]}
    assert describe_row(row, "e", outcomes) == "Otherwise"


def test_evidence_and_classes_name_their_row_in_labels(summary, outcomes):
    first, overall = summary["evidence"]
    assert describe_when(first, outcomes) == "Deal form: Freeze for relief"
    assert describe_when(overall, outcomes) == ""
    (reference_class,) = summary["reference_classes"]
    assert describe_when(reference_class, outcomes) == "Deal form: Talks drag on or collapse"
    # Past the length a reader takes in at a glance, the otherwise row is just that.
    long = copy.deepcopy(outcomes)
    long["deal_form"]["label"] = "Deal form " * 12
    assert describe_when(reference_class, long) == "otherwise"


def test_a_when_inside_the_otherwise_row_is_described_by_that_row(summary, outcomes):
    (reference_class,) = summary["reference_classes"]
    # `when` names one combination that has no row of its own: the item bears on the otherwise
    # row, which the summary names in `row`.
    inside = {**reference_class, "when": "deal_form == collapse"}
    assert describe_when(inside, outcomes) == "Deal form: Talks drag on or collapse"


def test_wording_module_has_no_row_key_parser():
    import forecast.report.wording as wording

    source = pathlib.Path(wording.__file__).read_text(encoding="utf-8")
    assert "import re" not in source and "describe_condition" not in source


# ----------------------------------------------------------------------------- labels


def test_values_and_counts_use_category_labels(summary, outcomes):
    assert describe_value("deal_form", "freeze_for_relief", outcomes) == "Freeze for relief"
    assert describe_value("summit_held", True, outcomes) == "yes"
    assert describe_data(summary["evidence"][0], outcomes) == "Data: 1 of 3"
    assert (
        describe_data(summary["evidence"][1], outcomes)
        == "Counts: 2 Talks drag on, 0 Freeze for relief, 1 collapse"
    )


def test_tables_show_category_labels_never_names(context):
    (deal,) = [o for o in context["outcomes"] if o["name"] == "deal_form"]
    categories = ["Talks drag on", "Freeze for relief", "collapse"]
    assert [row["label"] for row in deal["rows"]] == categories * 3
    # Each condition heads the rows of its categories, once.
    assert [row["heading"] for row in deal["rows"]] == [
        "Overall",
        None,
        None,
        "Summit held: yes",
        None,
        None,
        "Otherwise (Summit held: no)",
        None,
        None,
    ]
    (sanctions,) = [o for o in context["outcomes"] if o["name"] == "sanctions_eased"]
    assert [row["label"] for row in sanctions["rows"]] == [
        "Overall",
        "Deal form: Freeze for relief",
        "Otherwise (Deal form: Talks drag on or collapse)",
    ]
    assert [v["text"] for v in context["worlds"]["rows"][0]["values"]] == [
        "yes",
        "Freeze for relief",
        "no",
    ]
    assert context["worlds"]["columns"] == ["Summit held", "Deal form", "Sanctions eased"]
    outcomes_of_evidence = [row["outcome"] for row in context["evidence"]]
    assert outcomes_of_evidence == [
        "Sanctions eased",
        "Deal form: Talks drag on",
        "Deal form: Freeze for relief",
        "Deal form: collapse",
    ]


def test_figures_label_categories_and_conditions(outcomes, summary):
    groups = compute_outcome_groups("deal_form", outcomes)
    assert [(g.section, g.label) for g in groups][2:4] == [
        ("Overall", "collapse"),
        ("Summit held: yes", "Talks drag on"),
    ]
    groups = compute_outcome_groups("sanctions_eased", outcomes)
    assert [(g.section, g.label, g.emphasis) for g in groups] == [
        (None, "Overall", True),
        (None, "Deal form: Freeze for relief", False),
        (None, "Otherwise (Deal form: Talks drag on or collapse)", False),
    ]
    evidence = [g.label for g in compute_evidence_groups(summary["evidence"], outcomes)]
    assert evidence[0] == "1. Sanctions eased — Deal form: Freeze for relief"
    assert evidence[1:] == [
        "2. Deal form: Talks drag on",
        "2. Deal form: Freeze for relief",
        "2. Deal form: collapse",
    ]


def test_a_categorical_chart_heads_each_condition_once(outcomes):
    from matplotlib.text import Text

    from forecast.report.canvas import figure_style
    from forecast.report.charts import plot_interval_groups

    with figure_style():
        figure = plot_interval_groups(compute_outcome_groups("deal_form", outcomes))
    texts = [a.get_text() for a in figure.artists if isinstance(a, Text)]
    for heading in ("Overall", "Summit held: yes", "Otherwise (Summit held: no)"):
        assert texts.count(heading) == 1, heading
    assert texts.count("Freeze for relief") == 3


def test_a_label_is_cut_only_where_no_line_can_hold_a_word():
    from forecast.report.canvas import wrap_label

    # Ten characters a line: "verifiable," is one over and kept whole, not split at its comma.
    assert wrap_label("a full, verifiable, shutdown", 0.7) == "a full,\nverifiable,\nshutdown"
    assert wrap_label("x" * 25, 0.7, max_lines=5) == "xxxxxxxxxx\nxxxxxxxxxx\nxxxxx"


def test_rank_plots_label_categories_and_skip_sampling_coordinates(outcomes):
    plots = {plot.variable: plot for plot in compute_rank_plots(make_posterior(), outcomes)}
    assert "reference_class.0.offset" not in " ".join(plots)
    assert [panel.label for panel in plots["deal_form"].panels][:3] == [
        "summit_held, Talks drag on",
        "summit_held, Freeze for relief",
        "summit_held, collapse",
    ]
    assert plots["deal_form"].title == "Deal form (deal_form)"
    single = [plot for plot in plots.values() if plot.title == "Single-valued parameters"]
    assert [panel.label for panel in single[0].panels] == [
        "summit_held",
        "reference class 1: mean",
    ]


def test_concentration_is_its_median_with_its_interval(context):
    # A long right tail puts the mean (7000) far above the interval: the median is shown.
    (reference_class,) = context["reference_classes"]
    assert reference_class["concentration"] == {"median": "6", "interval": "2–20"}
    assert format_number(7000.0, 2) == "7 000"
    assert format_number(1.0123) == "1.01"


def test_parameter_labels_put_reference_classes_in_words():
    assert parameter_label("reference_class.0.mean") == "reference class 1: mean"
    assert (
        parameter_label("reference_class.2.log_concentration")
        == "reference class 3: log concentration"
    )
    assert parameter_label("deal_form[summit_held, collapse]") == "deal_form[summit_held, collapse]"


# ----------------------------------------------------------------------------- one definition


def test_scenarios_are_ranked_once_most_probable_first(summary, context, report_page):
    expected = ["freeze", "stalemate", "relief"]
    assert [name for name, _ in rank_scenarios(summary["scenarios"])] == expected
    assert [row["name"] for row in context["scenarios"]] == expected
    assert re.findall(r'data-scenario="(\w+)"', report_page) == expected


def test_index_ranks_scenarios_the_same_way(tmp_path):
    write_run(tmp_path / "tiny", make_summary())
    page = write_index(tmp_path).read_text(encoding="utf-8")
    names = re.findall(r'class="scenario-name">(\w+)<', page)
    assert names == ["freeze", "stalemate", "relief"]


def test_diagnostic_limits_come_from_the_run(context):
    diagnostics = context["diagnostics"]
    assert (diagnostics["rhat_limit"], diagnostics["ess_limit"]) == ("1.02", "300")
    flags = {
        p["name"]: (p["rhat_flag"], p["ess_bulk_flag"], p["ess_tail_flag"])
        for p in diagnostics["parameters"]
    }
    # 1.015 and 350 would be flagged by the usual 1.01 and 400; this run's limits are looser.
    assert flags == {
        "summit_held": (False, False, False),
        "reference class 1: mean": (True, True, False),
    }


def test_html_module_keeps_no_limits_of_its_own():
    import forecast.report.html as html

    assert not hasattr(html, "RHAT_LIMIT") and not hasattr(html, "ESS_LIMIT")


# ----------------------------------------------------------------------------- the analyst's text


def test_descriptions_and_sources_are_shown_escaped(report_page):
    text = text_of(report_page)
    assert "Yes if they meet. Costs above $5bn &amp; &lt;b&gt;more&lt;/b&gt; do not count." in (
        report_page
    )
    assert "<b>more</b>" not in report_page
    assert "Formal relief, not looser enforcement." in text
    assert "Source: Sanctions relief after talks, 1994-2015" in text
    assert "UN resolutions, 2006-2017" in text


def test_hostile_description_and_sources_stay_text(tmp_path):
    summary = make_summary()
    summary["outcomes"]["deal_form"]["description"] = HOSTILE
    summary["evidence"][0]["source"] = HOSTILE
    summary["reference_classes"][0]["source"] = HOSTILE
    summary["outcomes"]["deal_form"]["categories"]["collapse"]["label"] = "$5bn <i>lost</i>"
    run_dir = write_run(tmp_path / "run", summary)
    write_reports(run_dir, formats={"html"})
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<i>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    # In the figures too, and "$" is a dollar sign, not the start of mathtext.
    svg_text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", page))
    assert "$5bn &lt;i&gt;lost&lt;/i&gt;" in svg_text


def test_tables_wrap_rather_than_overflow(report_page, context):
    css = report_page[report_page.index("<style>") : report_page.index("</style>")]
    assert re.search(r"tbody th, td \{\s*overflow-wrap: anywhere;", css)
    # The worlds table's columns are sized to what is in them: the category's column is the
    # widest of the outcomes', and the widths fill the table.
    widths = [float(w) for w in context["worlds"]["widths"]]
    assert abs(sum(widths) - 100) < 0.5
    summit, deal, sanctions = widths[1:4]
    assert deal > sanctions >= summit
    cols = re.findall(r'<col style="width: ([\d.]+)%">', report_page)
    assert [float(c) for c in cols] == widths


# ----------------------------------------------------------------------------- other formats


@pytest.mark.parametrize("version", [1, None, "2", 3])
def test_a_summary_of_another_format_is_refused_naming_the_file(tmp_path, version):
    summary = make_summary()
    if version is None:
        del summary["format"]
    else:
        summary["format"] = version
    run_dir = write_run(tmp_path / "run", summary)
    with pytest.raises(ReportError, match=r"summary\.json: summary format .*reads format 2"):
        write_reports(run_dir, formats={"html"})
    page = write_index(tmp_path).read_text(encoding="utf-8")
    assert "reads format 2" in page


def test_a_format_2_summary_without_a_required_key_is_not_guessed_at(tmp_path):
    summary = copy.deepcopy(make_summary())
    del summary["diagnostics"]["rhat_limit"]
    with pytest.raises(KeyError, match="rhat_limit"):
        build_report_context(summary, "", draw_report_figures(summary, make_posterior()))
