"""The Google loyalty class lists the rewards on the way to the goal (milestones), in every
language the business gave them, and a change to them reaches Google through the outbox."""

import pytest

from stampcard.loyalty.services.programs import MilestoneDraft, save_program
from stampcard.outbox.dispatch import deliver
from stampcard.outbox.models import MessageStatus, OutboxMessage
from stampcard.wallet import changes, google
from stampcard.wallet.google_consumers import sync_google_object
from stampcard.wallet.models import GoogleInstall
from tests import factories
from tests.customer.test_program_texts import THAI, card_of
from tests.wallet.google_standin import ISSUER, Signer, configured
from tests.wallet.test_program_texts import localized
from tests.wallet.test_program_texts import program as program  # the fixture

pytestmark = pytest.mark.django_db

COOKIE_TH = "คุกกี้ฟรีหนึ่งชิ้น"
MUFFIN_RU = "Бесплатный маффин"


@pytest.fixture
def google_on(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    yield from configured(settings, tmp_path, Signer())


def modules_of(body):
    return {module["id"]: module for module in body["textModulesData"]}


def headers_of(module):
    header = module["localizedHeader"]
    values = [header["defaultValue"], *header.get("translatedValues", [])]
    return {value["language"]: value["value"] for value in values}


def test_the_class_lists_each_milestone_before_the_goal_in_every_language(program):
    factories.MilestoneFactory(
        program=program,
        stamps=7,
        reward_title="Free muffin",
        reward_description="Blueberry or chocolate",
        translations={"ru": {"reward_title": MUFFIN_RU}},
    )
    factories.MilestoneFactory(
        program=program,
        stamps=3,
        reward_title="Free cookie",
        translations={"th": {"reward_title": COOKIE_TH}},
    )
    program.refresh_from_db()
    body = google.loyalty_class(program)
    assert [module["id"] for module in body["textModulesData"]] == [
        "milestone-3",
        "milestone-7",
        "reward",
        "terms",
    ]
    modules = modules_of(body)
    cookie, muffin = modules["milestone-3"], modules["milestone-7"]
    assert cookie["body"] == "Free cookie"
    assert cookie["localizedBody"] == localized("Free cookie", th=COOKIE_TH)
    assert muffin["body"] == "Free muffin\nBlueberry or chocolate"
    assert muffin["localizedBody"] == localized(
        "Free muffin\nBlueberry or chocolate", ru=f"{MUFFIN_RU}\nBlueberry or chocolate"
    )
    # Our own label with the count, in each of our languages and their plural forms.
    headers = headers_of(muffin)
    assert headers["en"] == "Reward at 7 stamps"
    assert headers_of(cookie)["en"] == "Reward at 3 stamps"
    assert set(headers) == {"en", "th", "kk", "uk", "ru"}
    assert all("7" in text for text in headers.values())
    assert headers["ru"] == "Награда за 7 штампов"
    assert headers_of(cookie)["ru"] == "Награда за 3 штампа"
    assert headers["uk"] == "Нагорода за 7 штампів"
    assert headers_of(cookie)["uk"] == "Нагорода за 3 штампи"


def test_one_stamp_is_said_in_the_singular(business):
    program = factories.ProgramFactory(business=business, stamps_goal=5)
    factories.MilestoneFactory(program=program, stamps=1, reward_title="Free tea")
    headers = headers_of(modules_of(google.loyalty_class(program))["milestone-1"])
    assert headers["en"] == "Reward at 1 stamp"
    assert headers["ru"] == "Награда за 1 штамп"


def test_a_program_without_milestones_shows_only_its_reward(program):
    ids = [module["id"] for module in google.loyalty_class(program)["textModulesData"]]
    assert ids == ["reward", "terms"]


def deliver_open_messages():
    for message in OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED).order_by("pk"):
        assert deliver(message.pk) == MessageStatus.DELIVERED


def google_class(standin, program):
    return standin.resources[("loyaltyClass", f"{ISSUER}.program-{program.pk}")]


def test_a_milestone_added_renamed_and_removed_in_the_designer_patches_the_class(
    google_on, program, staff_actor
):
    card = card_of(program, "th")
    GoogleInstall.objects.create(
        business=program.business, card=card, saved=True, event_at=card.created_at
    )
    google.client().upsert_class(program)
    assert "milestone-3" not in modules_of(google_class(google_on, program))

    def design(*drafts):
        OutboxMessage.objects.all().delete()
        google_on.requests.clear()
        save_program(
            business=program.business,
            actor=staff_actor,
            program=program,
            values={},
            milestones=list(drafts),
        )
        deliver_open_messages()

    design(MilestoneDraft(stamps=3, reward_title="Free cookie", titles={"th": COOKIE_TH}))
    path = f"/walletobjects/v1/loyaltyClass/{ISSUER}.program-{program.pk}"
    assert ("PATCH", path) in google_on.api_calls()
    cookie = modules_of(google_class(google_on, program))["milestone-3"]
    assert cookie["localizedBody"] == localized("Free cookie", th=COOKIE_TH)

    (milestone,) = program.milestones.all()
    design(MilestoneDraft(stamps=4, reward_title="Free cookie", pk=milestone.pk, titles={}))
    modules = modules_of(google_class(google_on, program))
    assert "milestone-3" not in modules
    assert modules["milestone-4"]["localizedBody"] == localized("Free cookie")
    # The saved card's object follows too: it names the next reward on the way.
    body = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
    assert "Free cookie" in modules_of(body)["next"]["body"]

    design()
    modules = modules_of(google_class(google_on, program))
    assert [module_id for module_id in modules] == ["reward", "terms"]
    thai = {
        value["language"]: value["value"]
        for value in modules["reward"]["localizedBody"]["translatedValues"]
    }
    assert thai["th"].startswith(THAI["reward_title"])


def test_a_card_change_after_a_milestone_change_patches_the_class_first(google_on, program):
    card = card_of(program, "en")
    message = OutboxMessage.objects.create(
        business=program.business,
        topic="customer.joined",
        payload={"card_id": card.pk},
    )
    sync_google_object(message)
    factories.MilestoneFactory(program=program, stamps=2, reward_title="Free biscuit")
    google_on.requests.clear()
    card.refresh_from_db()
    again = OutboxMessage.objects.create(
        business=program.business,
        topic="card.changed",
        payload={"card_id": card.pk, "version": card.version},
    )
    sync_google_object(again)
    assert google_on.api_calls()[0] == (
        "PATCH",
        f"/walletobjects/v1/loyaltyClass/{ISSUER}.program-{program.pk}",
    )
    assert "milestone-2" in modules_of(google_class(google_on, program))
