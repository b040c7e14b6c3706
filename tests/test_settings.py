"""Settings and operations: production refuses to start half-configured, deploy checks, headers, health.

Production behaviour is checked in subprocesses with a clean environment (``BIRGE_ENV=production``
and exactly the variables each case gives), since settings are read once at import.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "manage.py"


def production_env(tmp_path, **overrides) -> dict:
    """A complete production environment (SQLite file in tmp_path); override or drop (None) variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "BIRGE_ENV": "production",
        "BIRGE_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)") for _ in range(64)),
        "ALLOWED_HOSTS": "birge.example.kg",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "EMAIL_URL": "smtp://mailer.example.kg:587",
        "SECURE_TLS": "1",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(env: dict, *args: str, code: str | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", code] if code is not None else [sys.executable, str(MANAGE), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


SETUP = "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'birge.settings'); django.setup(); print('started')"


def test_production_starts_with_a_complete_environment(tmp_path):
    result = run(production_env(tmp_path), code=SETUP)
    assert result.returncode == 0 and "started" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without(tmp_path, missing):
    result = run(production_env(tmp_path, **{missing: None}), code=SETUP)
    assert result.returncode != 0, f"production started without {missing}:\n{result.stdout}{result.stderr[-1500:]}"
    assert missing in result.stderr, f"the error does not name {missing}:\n{result.stderr[-1500:]}"


def test_check_deploy_is_clean_in_production_with_tls(tmp_path):
    result = run(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "no issues" in result.stdout, result.stdout + result.stderr[-3000:]


HEADERS = """
import json, os, django
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'birge.settings')
django.setup()
from django.test import Client
c = Client()
secure = c.get('/healthz', secure=True, HTTP_HOST='birge.example.kg')
plain = c.get('/healthz', HTTP_HOST='birge.example.kg')
print(json.dumps({'secure': [secure.status_code, dict(secure.headers)], 'plain': [plain.status_code, dict(plain.headers)]}))
"""


def test_production_with_tls_sends_hsts_and_redirects_to_https(tmp_path):
    result = run(production_env(tmp_path), code=HEADERS)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    status, headers = out["secure"]
    assert status == 200
    hsts = headers.get("Strict-Transport-Security", "")
    assert "max-age=" in hsts and int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000, hsts
    assert "includeSubDomains" in hsts
    assert out["plain"][0] in (301, 302, 307, 308)
    assert out["plain"][1]["Location"].startswith("https://")


def test_security_headers_on_a_page(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in tests: HSTS only with TLS


def test_no_hsts_without_tls(tmp_path):
    result = run(production_env(tmp_path, SECURE_TLS="0"), code=HEADERS)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["plain"][0] == 200
    assert "Strict-Transport-Security" not in out["plain"][1]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_readyz_with_migrations_applied(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "database": True, "migrations": "applied"}


@pytest.mark.django_db
def test_readyz_unavailable_with_pending_migrations(client, monkeypatch):
    from birge.core import views

    class Pending:
        def __init__(self, connection):
            self.loader = type("Loader", (), {"graph": type("Graph", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets):
            return [("core", "9999_pending")]

    monkeypatch.setattr(views, "MigrationExecutor", Pending)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "pending"


def test_demo_refuses_to_run_under_production_settings(tmp_path):
    env = production_env(tmp_path)
    migrate = run(env, "migrate", "--no-input", "-v", "0", timeout=120)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    result = run(env, "demo", "--scale", "small", "--seed", "1")
    assert result.returncode != 0
    assert "production" in result.stderr.lower(), result.stderr[-1500:]
    count = run(env, code=SETUP.replace("print('started')", "from birge.core.models import User; print(User.objects.count())"))
    assert count.stdout.strip().splitlines()[-1] == "0", "the demo wrote users under production settings"
