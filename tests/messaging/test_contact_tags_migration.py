"""Tags became a column (issue 19): the migration moves each contact's `metadata["tags"]`
list into it, cleaned, and leaves the rest of the metadata alone; reversing puts them back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrations_support import migrated_to

BEFORE = [("messaging", "0017_column_database_defaults")]
AFTER = [("messaging", "0018_contact_tags")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_metadata_tags_into_the_column_and_back():
    with migrated_to(BEFORE) as executor:
        apps = executor.loader.project_state(BEFORE).apps
        Workspace = apps.get_model("accounts", "Workspace")
        Contact = apps.get_model("messaging", "Contact")
        workspace = Workspace.objects.create(name="Acme", slug="acme-tags-migration")
        tagged = Contact.objects.create(
            workspace=workspace,
            phone="+5511987650101",
            metadata={"city": "Recife", "tags": [" VIP ", "vip", "Sao   Paulo", "", 7]},
        )
        not_a_list = Contact.objects.create(
            workspace=workspace, phone="+5511987650102", metadata={"tags": "vip"}
        )
        plain = Contact.objects.create(workspace=workspace, phone="+5511987650103", metadata={})

        MigrationExecutor(connection).migrate(AFTER)
        after = (
            MigrationExecutor(connection).loader.project_state(AFTER).apps.get_model("messaging", "Contact")
        )
        rows = {c.pk: (c.tags, c.metadata) for c in after.objects.all()}
        assert rows[tagged.pk] == (["vip", "sao paulo", "7"], {"city": "Recife"})
        assert rows[not_a_list.pk] == ([], {"tags": "vip"})  # not a list: left for a person to see
        assert rows[plain.pk] == ([], {})

        MigrationExecutor(connection).migrate(BEFORE)
        back = Contact.objects.get(pk=tagged.pk)
        assert back.metadata == {"city": "Recife", "tags": ["vip", "sao paulo", "7"]}
