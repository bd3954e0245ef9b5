"""Without a broker, deliver_outbox runs the beat schedule's periodic jobs itself."""

import pytest
from django.core.management import call_command

from stampcard.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

ran: list[str] = []


@app.task(name="tests.outbox.test_periodic.count_run")
def count_run() -> None:
    ran.append("count")


@app.task(name="tests.outbox.test_periodic.fail")
def fail() -> None:
    ran.append("fail")
    raise RuntimeError("a job that breaks")


def test_each_job_but_the_relay_runs_and_one_failing_stops_nothing(settings, caplog):
    ran.clear()
    settings.CELERY_BEAT_SCHEDULE = {
        "outbox-relay": {"task": "stampcard.outbox.tasks.relay", "schedule": 1.0},
        "broken": {"task": "tests.outbox.test_periodic.fail", "schedule": 60.0},
        "counted": {"task": "tests.outbox.test_periodic.count_run", "schedule": 60.0},
    }
    call_command("deliver_outbox", "--once", "--threads", "1")
    assert ran == ["fail", "count"]
    assert "periodic job broken failed" in caplog.text


def test_the_schedule_names_only_tasks_that_exist(settings):
    from django.utils.module_loading import import_string

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert import_string(entry["task"]).name == entry["task"]
