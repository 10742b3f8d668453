"""Tags become a column: each contact's `metadata["tags"]` list (how the first release kept
them) moves to `tags`, cleaned as the contacts service cleans them (spaces collapsed, lower
case, 50 characters, first 30, first occurrence kept); reversing puts them back."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models

MOVE_TAGS_TO_COLUMN = r"""
UPDATE messaging_contact AS c
SET tags = COALESCE(
        (
            SELECT (array_agg(tag ORDER BY first_at))[1:30]
            FROM (
                SELECT tag, min(at) AS first_at
                FROM (
                    SELECT lower(left(regexp_replace(btrim(raw), '\s+', ' ', 'g'), 50)) AS tag, at
                    FROM jsonb_array_elements_text(c.metadata -> 'tags') WITH ORDINALITY AS e(raw, at)
                ) AS cleaned
                WHERE tag <> ''
                GROUP BY tag
            ) AS firsts
        ),
        '{}'
    ),
    metadata = c.metadata - 'tags'
WHERE jsonb_typeof(c.metadata -> 'tags') = 'array'
"""

MOVE_TAGS_BACK_TO_METADATA = """
UPDATE messaging_contact
SET metadata = metadata || jsonb_build_object('tags', to_jsonb(tags))
WHERE cardinality(tags) > 0
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_column_database_defaults'),
        ('messaging', '0017_column_database_defaults'),
    ]

    operations = [
        migrations.AddField(
            model_name='contact',
            name='tags',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=50), blank=True, db_default=models.Value([], output_field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=50), size=None)), default=list, size=None),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=django.contrib.postgres.indexes.GinIndex(fields=['tags'], name='contact_tags'),
        ),
        migrations.RunSQL(MOVE_TAGS_TO_COLUMN, MOVE_TAGS_BACK_TO_METADATA),
    ]
