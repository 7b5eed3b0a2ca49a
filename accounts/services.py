"""Writes on users: role changes, the admin access that follows the role, certifications, the
customer's data on file.

Called explicitly wherever a user is created or their role changes (the admin, the demo seed,
:func:`set_role`), never from a model signal, so a bulk update or a fixture load cannot grant
access behind anyone's back and every grant is traceable to a call.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Certification, CustomerProfile, Role, User
from audit import services as audit

#: The admin group of managers, created by migration ``accounts.0003_managers_group``.
MANAGERS_GROUP = "Managers"
#: Managers view every model of these apps in the admin (and change only what ``MANAGER_CHANGES`` lists).
MANAGER_VIEW_APPS = ("accounts", "audit", "tickets", "consent", "cobrowse", "recordings")
MANAGER_CHANGES = (
    ("auth", "view_group"),
    ("accounts", "add_user"),
    ("accounts", "change_user"),
    ("accounts", "add_customeraccount"),
    ("accounts", "change_customeraccount"),
    ("tickets", "change_ticket"),
    ("tickets", "add_team"),  # escalation teams (tickets migration 0003)
    ("tickets", "change_team"),
    ("accounts", "add_customerprofile"),  # data on file (accounts migration 0006)
    ("accounts", "change_customerprofile"),
    ("accounts", "add_sitekey"),  # widget site keys: made and rotated in the admin (0007_site_keys)
    ("accounts", "change_sitekey"),
)


def manager_permissions() -> list[Permission]:
    """The permissions the managers' group holds: the same rules as its migration."""
    wanted = Q(content_type__app_label__in=MANAGER_VIEW_APPS, codename__startswith="view_")
    for app_label, codename in MANAGER_CHANGES:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(wanted))


def managers_group() -> Group:
    """The group, recreated with its permissions should someone have deleted it."""
    group, created = Group.objects.get_or_create(name=MANAGERS_GROUP)
    if created:
        group.permissions.set(manager_permissions())
    return group


@transaction.atomic
def sync_admin_access(user: User) -> None:
    """Managers are admin staff in the managers' group; anyone else is neither (a superuser keeps
    ``is_staff``). Idempotent: call it after any save that may have changed the role."""
    group = managers_group()
    if user.role == Role.MANAGER:
        user.groups.add(group)
        staff = True
    else:
        user.groups.remove(group)
        staff = user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])


@transaction.atomic
def role_saved(user: User, *, previous_role: str | None, actor: User | None = None) -> None:
    """After a user with a possibly new role was saved: align admin access, audit a change (ids)."""
    sync_admin_access(user)
    if previous_role is not None and previous_role != user.role:
        audit.record(
            "accounts.role_changed",
            actor=actor,
            obj=user,
            details={"user": user.pk, "from": previous_role, "to": user.role},
        )


@transaction.atomic
def set_role(user: User, role: str, *, actor: User | None = None) -> User:
    """Give ``user`` another role, with the admin access that goes with it."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role '{role}'."})
    locked = User.objects.select_for_update().get(pk=user.pk)
    previous = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    role_saved(locked, previous_role=previous, actor=actor)
    return locked


# --- co-browse certification ----------------------------------------------------------------------


@transaction.atomic
def certify(agent: User, *, actor: User, on: date, notes: str = "") -> Certification:
    """A manager records that an L1 agent passed co-browse certification: they may now co-browse.

    ``User.cobrowse_certified_at`` (what the permission rule reads) is set from the record, here and
    nowhere else; the audit entry holds ids and the date, never the notes.
    """
    if actor.role != Role.MANAGER or not actor.is_active:
        raise PermissionDenied("Only managers record certifications.")
    locked = User.objects.select_for_update().get(pk=agent.pk)
    if locked.role != Role.AGENT:
        raise ValidationError("Only agents are certified for co-browsing.", code="not_agent")
    if on > timezone.localdate():
        raise ValidationError({"certified_on": "A certification cannot be dated in the future."})
    if locked.certifications.filter(revoked_at__isnull=True).exists():
        raise ValidationError("This agent is already certified; revoke it first.", code="already_certified")
    record = Certification.objects.create(
        agent=locked, certified_on=on, certified_by=actor, notes=(notes or "").strip()
    )
    locked.cobrowse_certified_at = timezone.make_aware(datetime.combine(on, time.min))
    locked.save(update_fields=["cobrowse_certified_at"])
    audit.record(
        "accounts.certified",
        actor=actor,
        obj=locked,
        details={"agent": locked.pk, "certification": record.pk, "on": on.isoformat()},
    )
    return record


@transaction.atomic
def revoke_certification(agent: User, *, actor: User, reason: str) -> Certification:
    """A manager withdraws an agent's certification: an L1 agent may no longer co-browse."""
    if actor.role != Role.MANAGER or not actor.is_active:
        raise PermissionDenied("Only managers revoke certifications.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the certification is revoked."})
    locked = User.objects.select_for_update().get(pk=agent.pk)
    record = locked.certifications.filter(revoked_at__isnull=True).first()
    if record is None:
        raise ValidationError("This agent holds no certification to revoke.", code="not_certified")
    record.revoked_at, record.revoked_by, record.revoke_reason = timezone.now(), actor, reason
    record.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    locked.cobrowse_certified_at = None
    locked.save(update_fields=["cobrowse_certified_at"])
    audit.record(
        "accounts.certification_revoked",
        actor=actor,
        obj=locked,
        details={"agent": locked.pk, "certification": record.pk},
    )
    return record


# --- data on file --------------------------------------------------------------------------------

#: The profile's editable fields, in the order the portal, the admin and the import show them.
PROFILE_FIELDS = ("address_line1", "address_line2", "city", "postal_code", "phone", "date_of_birth", "extra")


@transaction.atomic
def save_customer_profile(
    customer: User,
    values: dict[str, object],
    *,
    actor: User | None,
    source: str,
    record: bool = True,
) -> tuple[CustomerProfile, bool, list[str]]:
    """Create or update a customer's profile from ``values`` (a subset of :data:`PROFILE_FIELDS`).

    Validated as a whole (``full_clean``), so the portal, the admin and the import refuse the same
    input. Returns (profile, created, changed field names). The audit entry names the fields that
    changed and who changed them, never a value: the values are personal data.
    """
    unknown = sorted(set(values) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown profile fields: {', '.join(unknown)}.", code="unknown_field")
    if customer.role != Role.CUSTOMER:
        raise ValidationError("Only customers have a profile on file.", code="not_customer")
    profile = CustomerProfile.objects.select_for_update().filter(user=customer).first()
    created = profile is None
    if profile is None:
        profile = CustomerProfile(user=customer)
    changed = [name for name in PROFILE_FIELDS if name in values and getattr(profile, name) != values[name]]
    for name in changed:
        setattr(profile, name, values[name])
    if not created and not changed:
        return profile, False, []
    profile.full_clean()
    profile.save()
    if record:
        audit.record(
            "accounts.profile_saved",
            actor=actor,
            obj=profile,
            details={"user": customer.pk, "created": created, "fields": changed, "source": source},
        )
    return profile, created, changed
