"""Small builders for test data (no fixtures library needed)."""

from __future__ import annotations

from typing import Any

from accounts.models import CustomerAccount, User

PASSWORD = "tandem-demo"


def make_account(name: str = "Acme Home Loans", **fields: Any) -> CustomerAccount:
    fields.setdefault("site_url", "http://localhost:8001/")
    fields.setdefault("allowed_origins", ["http://localhost:8001"])
    account, _ = CustomerAccount.objects.get_or_create(name=name, defaults=fields)
    return account


def make_user(username: str, *, role: str = "customer", password: str = PASSWORD, **fields: Any) -> User:
    fields.setdefault("email", f"{username}@example.com")
    fields.setdefault("first_name", username.capitalize())
    user = User.objects.create_user(username=username, password=password, role=role, **fields)
    return user


def make_ticket(requester: User, **fields: Any):
    from tickets import services

    fields.setdefault("subject", "Cannot finish the loan application")
    fields.setdefault("description", "The form stops at step 3.")
    return services.create_ticket(requester=requester, **fields)
