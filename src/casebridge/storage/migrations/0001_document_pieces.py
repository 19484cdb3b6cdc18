from django.conf import settings
from django.db import migrations, models


def ciphertext_uncompressed(apps, schema_editor):
    """Ciphertext does not compress: PostgreSQL keeps it out of line without trying."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE storage_documentpiece ALTER COLUMN data SET STORAGE EXTERNAL"
        )


def move_documents(apps, schema_editor):
    """On an installation that keeps documents in the database, the files written before
    come along (copied as they are, read back and compared; the files stay until
    ``casebridge documents move --delete-files``)."""
    if settings.DOCUMENT_STORAGE != "database":
        return
    from casebridge.crypto.database import move_files_into_database  # noqa: PLC0415
    from casebridge.crypto.files import file_storage  # noqa: PLC0415

    move_files_into_database(file_storage())


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cases", "0007_documents_encrypted"),
        ("privacy", "0002_export_bundle"),
    ]

    operations = [
        migrations.CreateModel(
            name="DocumentPiece",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=255)),
                ("piece", models.PositiveIntegerField()),
                ("data", models.BinaryField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("name", "piece"), name="storage_piece_once")
                ],
            },
        ),
        migrations.RunPython(ciphertext_uncompressed, migrations.RunPython.noop),
        migrations.RunPython(move_documents, migrations.RunPython.noop),
    ]
