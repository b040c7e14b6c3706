"""Three languages, Kyrgyz first: no untranslated or fuzzy string, and ``<html lang>`` follows the language.

The untranslated-string gate extracts the messages from the source as they are now (a copy of
``birge/`` in a temporary directory, ``makemessages -l ky -l ru -l en --no-obsolete``, merged
with the committed catalogues exactly as ``make messages`` would), then fails listing every
msgid that is untranslated or fuzzy in each language. A string added to the code without a
translation fails here even before anyone runs ``make messages``. The real catalogues are never
written by this test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "birge"
LANGS = ["ky", "ru", "en"]
SOURCE_SUFFIXES = {".py", ".html", ".txt", ".js", ".po", ".csv", ".json", ".xml", ".svg", ".css", ".md"}
JS_GETTEXT = re.compile(r"\b(?:n|p|np)?gettext\s*\(|\binterpolate\s*\(")


def _copy_filter(directory, names):
    """Leave out caches, compiled catalogues and anything that is not source."""
    skip = []
    for name in names:
        path = Path(directory) / name
        if name in ("__pycache__", "node_modules") or name.endswith((".pyc", ".mo")):
            skip.append(name)
        elif path.is_file() and path.suffix not in SOURCE_SUFFIXES:
            skip.append(name)
    return skip


def _js_has_strings(root: Path) -> bool:
    for path in root.rglob("*.js"):
        if "vendor" in path.parts or path.name.endswith(".min.js"):
            continue
        if JS_GETTEXT.search(path.read_text(encoding="utf-8", errors="replace")):
            return True
    return False


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory) -> dict:
    """{(domain, lang): polib.POFile} extracted from a copy of the source, merged with the committed catalogues."""
    work = tmp_path_factory.mktemp("i18n")
    shutil.copytree(SOURCE, work / "birge", ignore=_copy_filter)
    # The copy's settings put LOCALE_PATHS in the copy (BASE_DIR follows settings.py's location);
    # say it explicitly too, so nothing can reach the real catalogues.
    (work / "i18n_settings.py").write_text(
        "from pathlib import Path\nfrom birge.settings import *  # noqa\n"
        "LOCALE_PATHS = [Path(__file__).resolve().parent / 'birge' / 'locale']\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(work),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "i18n_settings",
        "BIRGE_VAR_DIR": str(work / "var"),
    }
    domains = ["django"] + (["djangojs"] if _js_has_strings(work / "birge") else [])
    for domain in domains:
        cmd = [sys.executable, "-m", "django", "makemessages", "-d", domain, "--no-obsolete",
               "--ignore=var", "--ignore=*/vendor/*", *[f"-l{lang}" for lang in LANGS]]
        result = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    out = {}
    for domain in domains:
        for lang in LANGS:
            path = work / "birge" / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"
            assert path.exists(), f"makemessages wrote no {domain}.po for {lang}"
            out[(domain, lang)] = polib.pofile(str(path))
    return out


def _describe(entry: polib.POEntry) -> str:
    where = f"  ({entry.occurrences[0][0]}:{entry.occurrences[0][1]})" if entry.occurrences else ""
    ctx = f"[{entry.msgctxt}] " if entry.msgctxt else ""
    return f"{ctx}{entry.msgid!r}{where}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(catalogues, lang):
    problems = []
    for (domain, code), po in sorted(catalogues.items()):
        if code != lang:
            continue
        entries = [e for e in po if not e.obsolete]
        fuzzy = [e for e in entries if "fuzzy" in e.flags]
        untranslated = [e for e in entries if "fuzzy" not in e.flags and not e.translated()]
        if untranslated:
            problems.append(f"{domain}.po, {lang}: {len(untranslated)} untranslated of {len(entries)}:")
            problems += [f"  untranslated: {_describe(e)}" for e in untranslated]
        if fuzzy:
            problems.append(f"{domain}.po, {lang}: {len(fuzzy)} fuzzy (check, then remove the fuzzy flag):")
            problems += [f"  fuzzy: {_describe(e)}" for e in fuzzy]
    assert not problems, (
        f"birge/locale/{lang}: run `make messages`, translate, `make compilemessages`.\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("lang", LANGS)
def test_committed_catalogue_compiles_with_format_checks(lang):
    """msgfmt --check: placeholders such as %(name)s and {n} match between msgid and msgstr."""
    path = SOURCE / "locale" / lang / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"missing catalogue {path.relative_to(ROOT)}"
    result = subprocess.run(["msgfmt", "--check", "-o", os.devnull, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-4000:]


# ---------------------------------------------------------------- language of pages


def test_kyrgyz_is_the_default_language():
    assert settings.LANGUAGE_CODE == "ky"
    assert [code for code, _name in settings.LANGUAGES] == ["ky", "ru", "en"]
    assert Path(settings.LOCALE_PATHS[0]) == SOURCE / "locale"


SKIP_PATHS = ("api/", "admin/", "i18n/", "jsi18n/", "healthz", "readyz", "accounts/logout/", "static/")


def _pages_without_arguments() -> list[str]:
    """Every named URL that takes no argument (new pages are covered without editing this test)."""
    paths = []

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name and not p.pattern.converters and "(?P" not in str(p.pattern):
                route = prefix + str(p.pattern)
                if route.startswith(SKIP_PATHS):
                    continue
                try:
                    paths.append(reverse(f"{namespace}{p.name}"))
                except Exception:  # a regex route that needs arguments
                    continue

    walk(get_resolver().url_patterns)
    return sorted(set(paths))


HTML_LANG = re.compile(r"<html[^>]*\blang=\"([^\"]*)\"", re.I)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGS)
def test_html_lang_follows_the_active_language(client, cast, lang):
    """Signed out and as an administrator and a district officer: every HTML page says its language."""
    paths = _pages_without_arguments()
    assert reverse("login") in paths and reverse("home") in paths
    checked, wrong = 0, []
    for user in (None, cast.a.users["system-admin"], cast.a.users["district-officer"]):
        if user is not None:
            client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang  # the switcher's cookie (logout() clears cookies)
        for path in paths + ["/no-such-page/"]:
            response = client.get(path)
            if not response.templates or "text/html" not in response.get("Content-Type", ""):
                continue  # redirects, JSON, files, a bare 405: no template, no <html>
            content = response.content.decode()
            found = HTML_LANG.search(content)
            checked += 1
            if not found or found.group(1) != lang:
                wrong.append(f"{path} ({user or 'signed out'}, HTTP {response.status_code}): "
                             f"lang={found.group(1) if found else None!r}")
            elif response.headers.get("Content-Language") != lang:
                wrong.append(f"{path}: Content-Language {response.headers.get('Content-Language')!r}")
        client.logout()
    assert checked >= 8, f"only {checked} HTML pages answered"
    assert not wrong, f"<html lang> is not {lang!r} on:\n" + "\n".join(wrong)


@pytest.mark.django_db
def test_language_comes_from_the_profile_not_the_browser(client, cast):
    user = cast.a.users["teacher"]
    user.preferred_language = "ru"
    user.save(update_fields=["preferred_language"])
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert HTML_LANG.search(response.content.decode()).group(1) == "ky"  # Kyrgyz first, whatever the browser says
    client.force_login(user)
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert HTML_LANG.search(response.content.decode()).group(1) == "ru"
