"""Managers create and rename teams in the admin (escalation needs somewhere to go).

The managers' group gains ``add_team`` and ``change_team`` (it already views every tickets model);
``accounts.services.MANAGER_CHANGES`` holds the same rule for a group recreated later.
"""

from django.db import migrations

GROUP = "Managers"
CODENAMES = ("view_team", "add_team", "change_team")


def grant(apps, schema_editor, codenames=CODENAMES):
    from django.contrib.auth.management import create_permissions

    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("tickets")
    app_config.models_module = True  # permissions otherwise appear only after every migration
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.using(alias).filter(name=GROUP).first()
    if group is not None:
        wanted = Permission.objects.using(alias).filter(
            content_type__app_label="tickets", codename__in=codenames
        )
        group.permissions.add(*wanted)


def revoke(apps, schema_editor, codenames=CODENAMES):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    alias = schema_editor.connection.alias
    group = Group.objects.using(alias).filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.using(alias).filter(content_type__app_label="tickets", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_escalation_level_and_team"),
        ("accounts", "0003_managers_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
