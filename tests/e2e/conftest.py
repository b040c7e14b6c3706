"""Browser test harness: Debian chromium through Playwright, a live Django server, the demo data.

How the database is handled (the robust way with a live server):

* The demo data (``birge demo --scale small --seed 1``) is generated once per session into the
  test database, committed, by ``demo_data`` with ``django_db_blocker.unblock()``.
* The tests do not request ``db``/``transactional_db``/pytest-django's ``live_server`` (that
  one would pull in ``transactional_db`` and flush the tables after every test). The server is
  pytest-django's ``LiveServer`` helper started here; an autouse fixture opens the database
  to it for the duration of each e2e test.
* So the demo data outlives single tests: tests only read it, or write into fresh records
  (a new person with a unique username). Logins add sessions and audit events, which is fine.
* Because that data is committed, ``pytest_collection_modifyitems`` moves the e2e tests to the
  end of the run, after every test that uses the database in a transaction (pytest-django's
  own ordering already puts tests without database fixtures last; this makes it explicit).
"""

from __future__ import annotations

import io
import os
import sys

import pytest

CHROMIUM = os.environ.get("BIRGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as the root conftest's _fast_tests
E2E_DIR = os.path.dirname(os.path.abspath(__file__))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run the browser tests last: they share committed demo data (see the module docstring)."""
    e2e = [item for item in items if str(item.path).startswith(E2E_DIR + os.sep)]
    if e2e:
        others = [item for item in items if not str(item.path).startswith(E2E_DIR + os.sep)]
        items[:] = others + e2e


def _database_names() -> dict:
    from django.conf import settings

    return {alias: cfg.get("NAME") for alias, cfg in settings.DATABASES.items()}


# Read at import (collection), before any test database exists: the real databases' names.
REAL_DATABASE_NAMES = _database_names()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, request, django_db_blocker, django_db_keepdb, django_db_createdb):
    """pytest-django's database setup, plus the default test database when nothing else asked for it.

    pytest-django creates only the test databases that collected tests request through the
    ``db`` fixtures or the ``django_db`` marker; the e2e tests request none (see above). When
    they run alone (``pytest -m e2e``) the default alias would still point at the real
    database, so create its test database here, and never go on against a real database.
    """
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    created = None
    if connections["default"].settings_dict["NAME"] == REAL_DATABASE_NAMES["default"]:
        with django_db_blocker.unblock():
            created = setup_databases(verbosity=request.config.option.verbose, interactive=False,
                                      aliases={"default"}, keepdb=django_db_keepdb and not django_db_createdb)
    assert connections["default"].settings_dict["NAME"] != REAL_DATABASE_NAMES["default"], \
        "refusing to run browser tests against the real database"
    yield
    if created is not None and not (django_db_keepdb and not django_db_createdb):
        with django_db_blocker.unblock():
            teardown_databases(created, verbosity=request.config.option.verbose)


def pytest_terminal_summary(terminalreporter):
    helpers = sys.modules.get(f"{__package__}.helpers") if __package__ else None
    if helpers is not None and helpers.STATS:
        terminalreporter.write_line("browser checks: " + ", ".join(f"{k}: {v}" for k, v in helpers.STATS.items()))


@pytest.fixture(scope="session")
def demo_data(django_db_setup, django_db_blocker):
    """The small demo, generated once per session into the test database (committed)."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    from birge.core.models import User

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        if not User.objects.filter(username="demo-system-admin").exists():
            call_command("demo", "--scale", "small", "--seed", "1", stdout=io.StringIO())
    return True


@pytest.fixture(scope="session")
def live_url(request, demo_data, django_db_blocker):
    """A live Django server on the test database (pytest-django's helper, started without the
    ``live_server`` fixture so tests are not made transactional)."""
    from pytest_django.live_server_helper import LiveServer

    from django.db import connections

    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    # Request threads must not keep database connections (PostgreSQL's CONN_MAX_AGE=60): a
    # keep-alive thread holding one stops the test database from being dropped at the end.
    # Every thread's connection reads this same settings dict when it connects.
    db_settings = connections["default"].settings_dict
    conn_max_age = db_settings.get("CONN_MAX_AGE", 0)
    db_settings["CONN_MAX_AGE"] = 0
    with django_db_blocker.unblock():
        server = LiveServer(addr)
    server._live_server_modified_settings.enable()  # ALLOWED_HOSTS += the server's host
    try:
        yield server.url
    finally:
        server._live_server_modified_settings.disable()
        server.stop()
        db_settings["CONN_MAX_AGE"] = conn_max_age


@pytest.fixture(autouse=True)
def _database_open_to_the_server(django_db_blocker, live_url):
    """The live server's threads (and a test's own ORM checks) may use the test database.

    While Playwright's event loop is running in this thread, Django keeps the test's database
    connections per async context, apart from the thread's own: close them after each test
    (on PostgreSQL a forgotten one stops the test database from being dropped).
    """
    from django.db import connections

    with django_db_blocker.unblock():
        try:
            yield
        finally:
            connections.close_all()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make system-deps` (Debian package chromium) "
                    "or set BIRGE_CHROMIUM", pytrace=False)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM refuses to run
    # beside one unless told it is safe (it is: the loop is idle while test code runs).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_context_args():
    """Override in a test module to change the browser context's options."""
    return {}


@pytest.fixture
def context_init_scripts():
    """Scripts (paths) run in every document before the page's own; test_a11y adds axe."""
    return []


@pytest.fixture
def context(browser, live_url, browser_context_args, context_init_scripts):
    # The browser asks for Russian on purpose: pages must still speak Kyrgyz first (the
    # language comes from the person's choice or profile, never from Accept-Language).
    args = {"base_url": live_url, "locale": "ru-RU", "viewport": {"width": 1280, "height": 900}}
    args.update(browser_context_args)
    ctx = browser.new_context(**args)
    ctx.set_default_timeout(10_000)
    ctx.set_default_navigation_timeout(15_000)
    for script in context_init_scripts:
        ctx.add_init_script(path=str(script))
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A page that also fails the test on uncaught script errors and CSP violations."""
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"script error on {pg.url}: {exc}"))
    pg.on("console", lambda msg: errors.append(f"console on {pg.url}: {msg.text}")
          if msg.type == "error" and "Content Security Policy" in msg.text else None)
    yield pg
    assert not errors, "\n".join(errors)


@pytest.fixture(scope="session")
def crawl_cache():
    """role slug -> paths crawled (in the default language), reused for the other languages."""
    return {}


@pytest.fixture(scope="session")
def check_cache():
    """(language, axe?, document fingerprint) -> problems: an identical document is checked once."""
    return {}


@pytest.fixture(scope="session")
def shapes_checked():
    """language -> page shapes (helpers.page_shape) already checked in that language."""
    return {}
