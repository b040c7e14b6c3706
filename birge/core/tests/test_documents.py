import shutil
import subprocess

import pytest
from django.template import engines

from birge.core import documents

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils installs with make test")


def test_pdf_embeds_fonts_and_keeps_kyrgyz_letters(tmp_path, settings):
    # A tiny document template, rendered through the shared base.
    settings.TEMPLATES[0]["DIRS"].append(tmp_path)
    (tmp_path / "doc.html").write_text(
        '{% extends "documents/base.html" %}{% block doc_title %}Корутунду{% endblock %}'
        "{% block body %}<h1>Корутунду</h1><p>{{ name }}</p>{% endblock %}",
        encoding="utf-8",
    )
    engines._engines = {}  # pick up the extra template folder
    pdf = documents.render_pdf("doc.html", {"name": "Өмүрбек Жаңыл Үсөн уулу"}, "ky")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Өмүрбек Жаңыл Үсөн уулу" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Noto" in fonts and " yes " in fonts  # embedded
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info and "Title:           Корутунду" in info  # tagged for screen readers
    html = documents.render_html("doc.html", {"name": "Өмүрбек"}, "ru")
    assert '<html lang="ru">' in html
