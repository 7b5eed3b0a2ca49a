"""Managers view the ticket survey's answers in the admin, like every other tickets model.

The managers' group gains ``view_satisfactionanswer``; ``accounts.services.manager_permissions``
already holds the rule (view every tickets model) for a group recreated later.
"""

import importlib

from django.db import migrations

_earlier = importlib.import_module("tickets.migrations.0003_managers_manage_teams")
CODENAMES = ("view_satisfactionanswer",)


def grant(apps, schema_editor):
    _earlier.grant(apps, schema_editor, codenames=CODENAMES)


def revoke(apps, schema_editor):
    _earlier.revoke(apps, schema_editor, codenames=CODENAMES)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_satisfaction"),
        ("accounts", "0003_managers_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
