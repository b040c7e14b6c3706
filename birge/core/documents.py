"""Documents as tagged PDF (PDF/UA-1) and as the same accessible HTML.

A document is one Django template rendered in the family's language. The HTML
page and the PDF share it, so their content cannot drift apart. Fonts are Noto
Sans (Debian ``fonts-noto-core``), embedded and subset, so ң ө ү print as
themselves.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

DOCUMENT_LANGUAGES = ("ky", "ru")


def render_html(template: str, context: dict, language: str) -> str:
    with translation.override(language):
        return render_to_string(template, {**context, "document_language": language, "for_pdf": False})


def render_pdf(template: str, context: dict, language: str, *, base_url: str | None = None) -> bytes:
    import weasyprint  # imported late: needs Pango (Debian packages), only for documents

    with translation.override(language):
        html = render_to_string(template, {**context, "document_language": language, "for_pdf": True})
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf(pdf_variant="pdf/ua-1")


def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
