"""F13: misconfiguration is a `manage.py check` error; migrations match the models."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

ROOT = Path(__file__).resolve().parents[2]


def test_it_passes_manage_py_check():
    call_command("check", fail_level="WARNING")


@pytest.mark.django_db
def test_it_has_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize(
    ("setting", "value", "error_id"),
    [
        ("BLAZZ_SNAPSHOT_KEYS", [], "blazz.E002"),
        ("BLAZZ_SNAPSHOT_KEYS", ["not-a-fernet-key"], "blazz.E003"),
        ("BLAZZ_BROWSER", "firefox", "blazz.E010"),
        ("BLAZZ_WA_URL", "web.whatsapp.com", "blazz.E011"),
        ("BLAZZ_WORKER_CAPACITY", 0, "blazz.E012"),
    ],
)
def test_it_reports_misconfiguration_as_a_check_error(settings, setting, value, error_id):
    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError, match=error_id):
        call_command("check")


@pytest.mark.parametrize("missing", ["SECRET_KEY", "BLAZZ_SNAPSHOT_KEYS"])
def test_it_refuses_to_start_in_production_without_secrets(missing):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 60, "BLAZZ_SNAPSHOT_KEYS": "a" * 43 + "="}
    env.pop(missing)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_KEY", "insecure-dev-key-change-me"),
        ("BLAZZ_SNAPSHOT_KEYS", "ZGV2LW9ubHktc25hcHNob3Qta2V5LWNoYW5nZS1tZTA="),
        ("BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
    ],
)
def test_it_refuses_to_start_in_production_with_a_published_development_value(variable, value):
    import os
    import subprocess
    import sys

    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "production-" + Fernet.generate_key().decode() * 2,
        "BLAZZ_SNAPSHOT_KEYS": Fernet.generate_key().decode(),
        "BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS": "false",
        variable: value,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert variable in result.stderr


def production_env(**extra: str) -> dict[str, str]:
    """The environment of a production host: DEBUG off, secrets of its own (not the published
    development values), a real host name."""
    import os

    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "production-" + Fernet.generate_key().decode() * 2,
        "BLAZZ_SNAPSHOT_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "blazz.example.com",
        **extra,
    }


def test_it_passes_check_deploy_with_production_settings():
    """Every deployment check of Django (and of django-csp) passes, none of them silenced."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout


# A production process answers one page through Django's test client and prints its headers.
_PRODUCTION_PAGE = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/login/", secure=True, headers={"host": "blazz.example.com"})
print(json.dumps({"status": response.status_code, "headers": dict(response.headers)}))
"""


def test_production_pages_carry_the_security_headers():
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _PRODUCTION_PAGE],
        env=production_env(DJANGO_SETTINGS_MODULE="blazz.settings"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout.strip().splitlines()[-1])
    headers = page["headers"]
    assert page["status"] == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_bandit_finds_nothing_in_the_code_production_runs():
    """The same scan as scripts/test.sh, here so a finding fails the test run itself."""
    import json
    import shutil
    import subprocess

    bandit = shutil.which("bandit")
    assert bandit, "bandit is in requirements-dev.txt"
    packages = ["accounts", "blazz", "campaigns", "messaging", "sessions_app", "health", "wasim"]
    result = subprocess.run(
        [bandit, "-q", "-r", *packages, "-f", "json"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    report = json.loads(result.stdout)
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]
    ]
    assert findings == [], findings
    assert result.returncode == 0, result.stderr


def test_it_documents_every_environment_variable_in_env_example():
    import re

    read = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', (ROOT / "blazz/settings.py").read_text()))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no env reads found"
    assert read - documented == set()
