"""The "Managers" group: what a manager may see and do in the Django admin.

View on every model of Tandem's own apps (and auth's groups); add and change only where a manager
acts: users and customer accounts, and change on tickets. Nothing on the audit trail, consent
records, sessions or recordings beyond viewing; API tokens are credentials, so not even that.
Existing managers join the group and get admin access. Later role changes keep it in step through
``accounts.services`` (the rules there must match these).
"""

from django.db import migrations

GROUP = "Managers"
VIEW_APPS = ("accounts", "audit", "tickets", "consent", "cobrowse", "recordings")
EXTRA = (
    ("auth", "view_group"),
    ("accounts", "add_user"),
    ("accounts", "change_user"),
    ("accounts", "add_customeraccount"),
    ("accounts", "change_customeraccount"),
    ("tickets", "change_ticket"),
)


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.db.models import Q

    alias = schema_editor.connection.alias
    # Permissions are otherwise created after all migrations (post_migrate): make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=alias)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("accounts", "User")
    group, _ = Group.objects.using(alias).get_or_create(name=GROUP)
    wanted = Q(content_type__app_label__in=VIEW_APPS, codename__startswith="view_")
    for app_label, codename in EXTRA:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.add(*Permission.objects.using(alias).filter(wanted))
    managers = User.objects.using(alias).filter(role="manager")
    for user in managers:
        user.groups.add(group)
    managers.update(is_staff=True)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_customeraccount_masking_presets"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0002_auditevent_scheme"),
        ("tickets", "0001_initial"),
        ("consent", "0003_device_confirmation"),
        ("cobrowse", "0004_team_viewers"),
        ("recordings", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
