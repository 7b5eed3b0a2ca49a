from django.db import migrations, models


class Migration(migrations.Migration):
    """Rows that exist before this migration were hashed with unkeyed SHA-256: they keep that marker.
    New rows are keyed (HMAC under AUDIT_KEY); the first of them chains from the last unkeyed hash."""

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="scheme",
            field=models.CharField(
                choices=[
                    ("sha256", "SHA-256, unkeyed (rows written before the chain was keyed)"),
                    ("hmac-sha256", "HMAC-SHA-256 under AUDIT_KEY"),
                ],
                default="sha256",
                max_length=16,
            ),
        ),
    ]
