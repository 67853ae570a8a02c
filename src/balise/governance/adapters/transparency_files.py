"""The files of a transparency report: charts drawn by pygal as SVG, CSV tables, and the PDF
printed by WeasyPrint from the report's HTML. They take words already translated and numbers
already suppressed (governance/transparency.py, web/public/transparency.py): nothing here
decides what is published.

The PDF is made offline: WeasyPrint's fetcher refuses every URL but ``data:`` (the charts are
inlined), so printing never reaches the network, and its fonts are embedded (subsetted)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

CHART_STYLE_COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6")


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *,
              value_label: str = "") -> str:
    """A horizontal bar chart; withheld values (None) are drawn as no bar. ``title`` names the
    SVG for screen readers; the page's heading shows it, so the drawing does not repeat it."""
    import pygal
    from pygal.style import Style

    style = Style(background="white", plot_background="white", foreground="#222", foreground_strong="#111",
                  foreground_subtle="#666", colors=CHART_STYLE_COLOURS, font_family="DejaVu Sans, sans-serif",
                  title_font_size=16, label_font_size=12, major_label_font_size=12, value_font_size=11)
    chart = pygal.HorizontalBar(style=style, show_legend=False, js=[], disable_xml_declaration=True,
                                width=760, height=max(180, 60 + 34 * len(labels)), print_values=True,
                                print_values_position="top", margin=16, truncate_label=40, explicit_size=True)
    chart.x_labels = list(labels)
    chart.add(value_label or title, [None if v is None else v for v in values])
    return _svg(chart, title)


def grouped_bar_chart(title: str, x_labels: Sequence[str],
                      series: Sequence[tuple[str, Sequence[float | None]]]) -> str:
    """Vertical bars, one group per x label (a year), one colour per series (a database)."""
    import pygal
    from pygal.style import Style

    style = Style(background="white", plot_background="white", foreground="#222", foreground_strong="#111",
                  foreground_subtle="#666", colors=CHART_STYLE_COLOURS, font_family="DejaVu Sans, sans-serif",
                  title_font_size=16, label_font_size=12, major_label_font_size=12, legend_font_size=12)
    chart = pygal.Bar(style=style, js=[], disable_xml_declaration=True, width=760, height=320,
                      legend_at_bottom=True, margin=16, explicit_size=True, print_values=True, print_zeroes=False)
    chart.x_labels = list(x_labels)
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart, title)


def _svg(chart: object, title: str) -> str:
    """The chart as SVG text without pygal's <script> (its tooltips' configuration): the charts
    are pictures, and a file opened on its own runs nothing. An accessible <title> comes first."""
    from xml.etree import ElementTree

    tree = chart.render_tree()  # type: ignore[attr-defined]
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    parents = {child: parent for parent in root.iter() for child in parent}
    for node in [n for n in root.iter() if isinstance(n.tag, str) and n.tag.rsplit("}", 1)[-1] == "script"]:
        parents[node].remove(node)
    try:
        text = ElementTree.tostring(root, encoding="unicode")
    except TypeError:  # an lxml tree
        from lxml import etree

        text = etree.tostring(root, encoding="unicode")
    from xml.sax.saxutils import escape

    head, sep, rest = text.partition(">")
    return f"{head}{sep}<title>{escape(title)}</title>{rest}" if sep else text


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A CSV file (RFC 4180, UTF-8, CRLF line ends) of one table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def pdf_bytes(html: str) -> bytes:
    """The PDF of a self-contained HTML page (CSS and images inline), printed offline."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class OfflineFetcher(URLFetcher):
        """Only ``data:`` URLs: anything else (http, https, file, ftp) is refused."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):  # type: ignore[no-untyped-def]
            if not url.startswith("data:"):
                self.refused.append(url)
                raise ValueError(f"remote resource refused (the report is printed offline): {url[:100]}")
            return super().fetch(url, headers)

    return HTML(string=html, url_fetcher=OfflineFetcher(), base_url=None).write_pdf()  # type: ignore[no-any-return]
