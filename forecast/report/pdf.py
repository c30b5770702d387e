"""The report for print: the report's HTML laid out in pages by WeasyPrint."""

from __future__ import annotations

import functools
import pathlib

import weasyprint
from weasyprint.urls import URLFetcher


@functools.cache
def offline_fetcher() -> URLFetcher:
    """A fetcher that knows only data: URLs, made once (it loads the CA store on creation)."""
    return URLFetcher(allowed_protocols={"data"})


def write_pdf(html: str, path: pathlib.Path) -> pathlib.Path:
    """Lay out the report page as a PDF at path; the page's print stylesheet sets the paper."""
    # The page is self-contained; refusing every other URL makes sure the PDF can never depend
    # on, or leak a request to, the network or the local disk.
    weasyprint.HTML(string=html, url_fetcher=offline_fetcher()).write_pdf(path)
    return path
