# Before a serve is held to one net event of each kind (0010's constraint), flag what already breaks
# that rule as the ingestion now would: conversions without a counted click on their serve are
# `no_click`; of a serve's counted events of one kind, all but the earliest are `duplicate`.
# Rollups rebuilt afterwards (`manage.py rollups_rebuild --since ...`) count history the same way.

from django.db import migrations


def flag(apps, schema_editor):
    quote = schema_editor.quote_name
    table = quote(apps.get_model("analytics", "Event")._meta.db_table)
    net = f"NOT {quote('duplicate')} AND {quote('invalid_reason')} = ''"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {quote('invalid_reason')} = 'no_click' WHERE {quote('kind')} = 'conversion'"
            f" AND {net} AND NOT EXISTS (SELECT 1 FROM {table} AS c WHERE c.{quote('kind')} = 'click'"
            f" AND c.{quote('serve_id')} = {table}.{quote('serve_id')} AND NOT c.{quote('duplicate')}"
            f" AND c.{quote('invalid_reason')} = '')"
        )
        cursor.execute(
            f"UPDATE {table} SET {quote('duplicate')} = TRUE WHERE {quote('id')} IN (SELECT {quote('id')} FROM"
            f" (SELECT {quote('id')}, ROW_NUMBER() OVER (PARTITION BY {quote('serve_id')}, {quote('kind')}"
            f" ORDER BY {quote('occurred_at')}, {quote('id')}) AS n FROM {table} WHERE {net}) AS ranked"
            " WHERE n > 1)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0008_event_write_indexes"),
    ]

    # Not undone: the flags only stop counting what the old rules counted twice.
    operations = [migrations.RunPython(flag, migrations.RunPython.noop)]
