"""The OpenAPI contract: generated without warnings, and the committed ``docs/openapi.yaml`` is current.

Other agencies build against ``docs/openapi.yaml``; a change to the API that is not reflected there
fails here. Regenerate it with ``make schema``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "openapi.yaml"


def test_schema_has_no_warnings_and_matches_the_committed_file(tmp_path):
    out = tmp_path / "openapi.yaml"
    # The contract is generated against the embedded default database, as `make schema` does: integer
    # bounds in it follow the database's column sizes, and PostgreSQL's differ from SQLite's.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"BIRGE_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run([sys.executable, "manage.py", "spectacular", "--file", str(out), "--validate",
                             "--fail-on-warn", "--lang", "en"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8"), \
        "docs/openapi.yaml is out of date: run `make schema` and commit it"
