"""The OpenAPI schema of the whole API is valid and drf-spectacular has nothing to warn
about, so every endpoint (the numbers API included) is documented as it behaves."""

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_it_generates_a_valid_schema_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    paths = yaml.safe_load(target.read_text())["paths"]
    assert set(paths["/api/v1/sessions"]) == {"get", "post"}
    for verb in ("start", "stop", "restart", "logout", "primary", "refresh-qr"):
        assert "post" in paths[f"/api/v1/sessions/{{session_uuid}}/{verb}"]
    assert "429" in paths["/api/v1/sessions"]["post"]["responses"]
