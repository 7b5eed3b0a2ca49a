"""Ticket numbers: sequential, gap-free, unique under concurrent creation."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from tests.factories import make_account, make_ticket, make_user
from tickets.models import Ticket, TicketCounter

THREADS = 8
PER_THREAD = 5


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need a password, not a slow one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_numbers_start_at_the_setting_and_increase(customer, settings):
    numbers = [make_ticket(customer).number for _ in range(3)]
    start = settings.TANDEM_TICKET_NUMBER_START
    assert numbers == [start, start + 1, start + 2]
    assert TicketCounter.objects.get(name="ticket").last_number == start + 2


@pytest.mark.django_db
def test_a_failed_creation_does_not_use_up_a_number(customer):
    first = make_ticket(customer).number
    with pytest.raises(ValidationError):
        make_ticket(customer, subject="   ")
    assert make_ticket(customer).number == first + 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_gives_unique_contiguous_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is being tested; SQLite serialises whole-database writes")
    account = make_account()
    customers = [make_user(f"buyer{i}", role="customer", account=account) for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    created: list[int] = []
    lock = threading.Lock()

    def work(customer) -> None:
        try:
            barrier.wait(timeout=30)  # start together to maximise contention
            for i in range(PER_THREAD):
                number = make_ticket(customer, subject=f"Concurrent {i}").number
                with lock:
                    created.append(number)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=work, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    total = THREADS * PER_THREAD
    assert len(created) == total
    assert len(set(created)) == total, "duplicate ticket numbers"
    assert sorted(created) == list(range(min(created), min(created) + total)), "gap in numbers"
    stored = sorted(Ticket.objects.values_list("number", flat=True))
    assert stored == sorted(created)
    assert TicketCounter.objects.get(name="ticket").last_number == max(created)
