"""Matplotlib figures as lean inline ``<svg>`` elements for the report page."""

from __future__ import annotations

import io
import re
import warnings
from xml.etree import ElementTree

from matplotlib.figure import Figure

from forecast.report.canvas import STYLE

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
SVG_FONT_FAMILY = ", ".join(f"'{name}'" for name in STYLE["font.sans-serif"]) + ", sans-serif"
_LONG_DECIMAL = re.compile(r"(\.\d\d)\d+")
_SPACES = re.compile(r"\s+")


def _compact_numbers(value: str) -> str:
    return _SPACES.sub(" ", _LONG_DECIMAL.sub(r"\1", value)).strip()


XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_REFERENCE = re.compile(r"(?:href=\"#|url\(#)([^\")]+)")


def to_svg(fig: Figure, *, prefix: str, title: str | None = None) -> str:
    """Serialise a figure as a lean ``<svg>`` element for inlining in HTML.

    Matplotlib's SVG is written for standalone files. Inline, the XML prolog, DOCTYPE and RDF
    metadata are noise, and its ``<style>`` would apply to the whole page; its groups that carry
    only an id double the element count, which is what WeasyPrint's time grows with. They are
    removed, namespaces dropped (the HTML parser puts ``<svg>`` in the SVG namespace itself), and
    the ids still referenced get a per-figure prefix so figures on one page cannot collide.
    ElementTree re-escapes all text, so user text stays text. A `title` says in words what the
    figure shows, for a reader who cannot see it: the image's accessible name, and its tooltip.
    """
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # With fonttype "none" the glyphs are the browser's and the PDF's to draw; matplotlib's
        # complaint that its own font lacks one (an emoji in a label) does not apply.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    referenced = set(_REFERENCE.findall(svg))
    root = ElementTree.fromstring(svg)
    _simplify(root, referenced, prefix)
    for name in ("version", "{http://www.w3.org/XML/1998/namespace}space"):
        root.attrib.pop(name, None)
    root.set("class", "chart")
    root.set("role", "img")
    # Replaces matplotlib's "* {stroke-linejoin: round}" rule, scoped to this figure.
    root.set("stroke-linejoin", "round")
    root.set("font-family", SVG_FONT_FAMILY)
    if title:
        root.set("aria-label", title)
        element = ElementTree.Element("title")
        element.text = title
        root.insert(0, element)
    return ElementTree.tostring(root, encoding="unicode", short_empty_elements=True)


def _simplify(element: ElementTree.Element, referenced: set[str], prefix: str) -> None:
    children = []
    if element.text is not None and not element.text.strip():
        element.text = None
    for child in element:
        child.tag = child.tag.removeprefix(SVG_NAMESPACE)
        child.tail = None  # matplotlib's indentation: bytes, and text nodes for the parser
        if child.get("transform", "").startswith("rotate(-0 "):
            del child.attrib["transform"]
        if child.tag in ("metadata", "style"):
            continue
        _simplify(child, referenced, prefix)
        if XLINK_HREF in child.attrib:
            child.set("href", child.attrib.pop(XLINK_HREF))
        identifier = child.attrib.pop("id", None)
        if identifier in referenced:
            child.set("id", f"{prefix}-{identifier}")
        # Presentation attributes instead of style="...": a style attribute is CSS, which an
        # HTML engine (WeasyPrint's included) parses into the page's cascade, element by element.
        for declaration in child.attrib.pop("style", "").split(";"):
            name, _, value = declaration.partition(":")
            if value.strip():
                child.set(name.strip(), value.strip())
        # Every text has the same family: say it once, on the <svg>.
        if child.get("font-family") == SVG_FONT_FAMILY:
            del child.attrib["font-family"]
        # Hundredths of a point are finer than any printer; shorter numbers parse faster.
        for name in ("d", "x", "y", "transform", "points"):
            if name in child.attrib:
                child.set(name, _compact_numbers(child.get(name)))
        for name, value in list(child.attrib.items()):
            if name == "href" and value.startswith("#"):
                child.set(name, f"#{prefix}-{value[1:]}")
            elif "url(#" in value:
                child.set(name, value.replace("url(#", f"url(#{prefix}-"))
        if child.tag == "g" and not child.attrib:
            children.extend(child)
        elif child.tag == "defs" and len(child) == 0:
            continue
        else:
            children.append(child)
    element[:] = children
    element.tag = element.tag.removeprefix(SVG_NAMESPACE)
