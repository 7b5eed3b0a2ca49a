"""Widget site keys (``Tandem.init`` signatures), and managers make and rotate them in the admin.

The managers' group gains ``view_sitekey``, ``add_sitekey`` and ``change_sitekey``;
``accounts.services.MANAGER_CHANGES`` holds the same rule for a group recreated later.
"""

import django.db.models.deletion
from django.db import migrations, models

GROUP = "Managers"
CODENAMES = ("view_sitekey", "add_sitekey", "change_sitekey")


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True  # permissions otherwise appear only after every migration
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.using(alias).filter(name=GROUP).first()
    if group is not None:
        Permission = apps.get_model("auth", "Permission")
        group.permissions.add(
            *Permission.objects.using(alias).filter(
                content_type__app_label="accounts", codename__in=CODENAMES
            )
        )


def revoke(apps, schema_editor):
    alias = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(alias).filter(name=GROUP).first()
    if group is not None:
        Permission = apps.get_model("auth", "Permission")
        group.permissions.remove(
            *Permission.objects.using(alias).filter(
                content_type__app_label="accounts", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_customer_profile"),
    ]

    operations = [
        migrations.CreateModel(
            name="SiteKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "site",
                    models.SlugField(
                        help_text="The public site id the page passes to Tandem.init({site}).",
                        max_length=64,
                        unique=True,
                    ),
                ),
                ("current_secret", models.BinaryField()),
                ("previous_secret", models.BinaryField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("rotated_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="site_key",
                        to="accounts.customeraccount",
                    ),
                ),
            ],
            options={
                "ordering": ["site"],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
