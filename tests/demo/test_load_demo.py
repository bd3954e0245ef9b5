import re

from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from stampcard.loyalty.models import Card, Reward, StampEvent
from stampcard.loyalty.selectors import cards_out_of_balance
from stampcard.tenancy.models import Business, Location


def test_the_demo_loads_once_obeys_the_ledger_and_prints_a_working_login(db, capsys):
    call_command("load_demo", customers=25)
    first = capsys.readouterr().out
    call_command("load_demo", customers=25)
    second = capsys.readouterr().out

    business = Business.objects.get(slug="demo-coffee")
    assert Business.objects.count() == 1
    assert Location.objects.filter(business=business).count() == 2
    assert business.programs.count() == 2
    assert Card.objects.filter(business=business).count() >= 25
    assert StampEvent.objects.filter(business=business).exists()
    assert Reward.objects.filter(business=business).exists()
    assert not cards_out_of_balance().exists()
    assert "Loading the demo" in first
    assert "Loading the demo" not in second
    password = re.search(r"password '([^']+)'", second)
    assert password is not None
    # Logins are throttled per address, so authenticate() needs the request it comes from.
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="demo", password=password.group(1)) is not None
