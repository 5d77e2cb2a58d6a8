"""Documents as PDF: a page laid out in HTML, printed by WeasyPrint."""

from __future__ import annotations


def pdf_from_html(html: str) -> bytes:
    """The page as an A4 PDF, as its own stylesheet lays it out."""
    from weasyprint import HTML  # loaded only when a PDF is asked for: it takes a moment

    return bytes(HTML(string=html).write_pdf())
