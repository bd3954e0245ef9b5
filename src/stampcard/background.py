"""The door for background work: a job names its business, and the scope is opened here.

Web requests get their business from the door they came through (``tenancy.middleware``);
a job (a Celery task, the in-process dispatcher) carries the business id instead, and every
job opens the scope through ``business_scope``, like a request would: tenant queries are then
limited to that business, and times are that business's local times.

A job of no business (an outbox message with no business, such as a sign-up's e-mail) opens
no scope: any query of a business's data then raises, as it should.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from celery import Task
from django.utils import timezone
from django_scopes import scope

from stampcard.tenancy.models import Business


@contextmanager
def business_scope(business_id: int | None) -> Iterator[Business | None]:
    if business_id is None:
        yield None
        return
    business = Business.objects.get(pk=business_id)
    with scope(business=business), timezone.override(ZoneInfo(business.time_zone)):
        yield business


class BusinessTask(Task):
    """A Celery task run inside the scope of the business named by its ``business_id``."""

    abstract = True

    def __call__(self, *args: Any, business_id: int | None, **kwargs: Any) -> Any:
        with business_scope(business_id):
            return super().__call__(*args, business_id=business_id, **kwargs)
