"""Migration 0005 moves each number's Idempotency-Key from metadata to the new column, so a
retry after the upgrade still finds the number it created before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrations_support import migrated_to

BEFORE = [("sessions_app", "0004_worker_rescuing_status")]
AFTER = [("sessions_app", "0005_session_idempotency_key")]


@pytest.mark.django_db(transaction=True)
def test_it_moves_keys_from_metadata_to_the_column():
    with migrated_to(BEFORE) as executor:
        apps = executor.loader.project_state(BEFORE).apps
        Workspace = apps.get_model("accounts", "Workspace")
        WhatsAppSession = apps.get_model("sessions_app", "WhatsAppSession")
        workspace = Workspace.objects.create(name="Acme", slug="acme-migration")
        kept = WhatsAppSession.objects.create(
            workspace=workspace, session_id="m-1", metadata={"idempotency_key": "crm-1", "note": "x"}
        )
        twin = WhatsAppSession.objects.create(
            workspace=workspace, session_id="m-2", metadata={"idempotency_key": "crm-1"}
        )
        too_long = WhatsAppSession.objects.create(
            workspace=workspace, session_id="m-3", metadata={"idempotency_key": "k" * 255}
        )

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        apps = executor.loader.project_state(AFTER).apps
        After = apps.get_model("sessions_app", "WhatsAppSession")

        moved = After.objects.get(pk=kept.pk)
        assert (moved.idempotency_key, moved.metadata) == ("crm-1", {"note": "x"})
        # The constraint allows one number per key: a duplicate from before keeps it in metadata.
        assert After.objects.get(pk=twin.pk).idempotency_key is None
        assert After.objects.get(pk=too_long.pk).idempotency_key is None
