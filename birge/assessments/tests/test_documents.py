"""The conclusion as a tagged PDF in Kyrgyz or Russian with real Kyrgyz letters, and the same content as HTML."""

import shutil
import subprocess

import pytest

from birge.assessments.models import Conclusion
from birge.learners.models import Learner

pytestmark = pytest.mark.django_db
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils installs with make test")

NAME = "Үсөнова Жаңыл Өмүрбек кызы"


def _kyrgyz_child(world):
    Learner.objects.filter(pk=world.learner.pk).update(last_name="Үсөнова", first_name="Жаңыл", patronymic="Өмүрбек кызы")


@needs_poppler
@pytest.mark.parametrize("lang, heading", [("ky", "корутунду"), ("ru", "Заключение")])
def test_pdf_keeps_the_kyrgyz_letters(world, client, tmp_path, lang, heading):
    _kyrgyz_child(world)
    conclusion = world.issued()
    client.force_login(world.parent)
    response = client.get(f"/assessments/conclusions/{conclusion.pk}/document.pdf?lang={lang}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    path = tmp_path / "c.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert NAME in text
    assert conclusion.number in text
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Noto" in fonts
    if lang == "ky":
        assert "логопед" in text.lower()  # catalogue names in the document's language
    else:
        assert "Логопедическая помощь" in text


def test_html_document_in_the_familys_language(world, client):
    from birge.assessments.views import _document_context
    from birge.core import documents

    _kyrgyz_child(world)
    conclusion = world.issued()
    Conclusion.objects.filter(pk=conclusion.pk).update(family_language="ru")
    conclusion.refresh_from_db()
    client.force_login(world.parent)
    html = client.get(f"/assessments/conclusions/{conclusion.pk}/document/").content.decode()
    assert '<article class="document" lang="ru">' in html and NAME in html and "Логопедическая помощь" in html
    assert html.count("<h1") == 1 and "skip-link" in html
    html = client.get(f"/assessments/conclusions/{conclusion.pk}/document/?lang=ky").content.decode()
    assert '<article class="document" lang="ky">' in html and "Логопеддик жардам" in html
    # the PDF's template as a standalone document: the same body
    standalone = documents.render_html("assessments/conclusion_document.html",
                                       _document_context(conclusion, world.parent, "ru"), "ru")
    assert '<html lang="ru">' in standalone and NAME in standalone and "Логопедическая помощь" in standalone
    assert "<main>" in standalone and "<caption" in standalone and 'scope="col"' in standalone


def test_a_draft_has_no_document_for_the_family(world, client):
    draft = world.draft()
    client.force_login(world.parent)
    assert client.get(f"/assessments/conclusions/{draft.pk}/document/").status_code == 404
