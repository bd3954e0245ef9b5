"""Wallet passes carry the program's texts in the customer's language (Apple, one pass per
customer) or in every language the program has them in (Google's classes, LocalizedString)."""

import io
import json
import zipfile

import pytest

from stampcard.loyalty.models import Card, Milestone, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.vouchers.models import RedemptionMethod, Voucher, VoucherOrigin, VoucherTemplate
from stampcard.vouchers.services import issue_voucher
from stampcard.wallet import apple, google
from tests import factories
from tests.customer import test_program_texts as customer_texts
from tests.customer.test_program_texts import THAI, card_of
from tests.wallet.google_standin import ISSUER, Signer, configured

pytestmark = pytest.mark.django_db

# The same program and customers as the customer pages' tests: the pass says what the page says.
program = customer_texts.program

# --- Apple ---------------------------------------------------------------------------------


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def pass_json(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("pass.json"))


def values(document) -> dict[str, str]:
    store = document["storeCard"]
    fields = [field for group in store.values() for field in group]
    return {field["key"]: field["value"] for field in fields}


def test_a_thai_customers_pass_is_in_thai(data_dir, program):
    document = pass_json(apple.card_pass(card_of(program, "th")))
    assert document["logoText"] == THAI["name"]
    assert document["description"] == f"บัตรสะสมแสตมป์: {THAI['name']}"
    shown = values(document)
    assert shown["card"] == THAI["name"]
    assert shown["next"] == THAI["reward_title"]
    assert shown["reward"] == f"{THAI['reward_title']}\n{THAI['reward_description']}"
    assert shown["terms"] == THAI["terms"]
    assert THAI["reward_title"] in shown["progress"]


def test_an_english_customers_pass_has_the_default_texts(data_dir, program):
    shown = values(pass_json(apple.card_pass(card_of(program, "en"))))
    assert (shown["card"], shown["next"], shown["terms"]) == (
        "Coffee card",
        "Free coffee",
        "One stamp per visit",
    )
    assert shown["reward"] == "Free coffee\nAny size"


def test_a_language_without_a_text_falls_back_on_the_pass(data_dir, program):
    shown = values(pass_json(apple.card_pass(card_of(program, "kk"))))
    assert shown["card"] == "Кофе картасы"
    assert (shown["next"], shown["terms"]) == ("Free coffee", "One stamp per visit")


def test_passes_in_two_languages_share_their_images(data_dir, program):
    thai, english = card_of(program, "th"), card_of(program, "en")
    with zipfile.ZipFile(io.BytesIO(apple.card_pass(thai))) as archive:
        thai_strip = archive.read("strip@2x.png")
    hits = apple._card_files.cache_info().hits
    with zipfile.ZipFile(io.BytesIO(apple.card_pass(english))) as archive:
        english_strip = archive.read("strip@2x.png")
    # The second language's pass is drawn from the images the first one made.
    assert apple._card_files.cache_info().hits == hits + 1
    assert thai_strip == english_strip


def goal_voucher(program, staff_actor, language):
    """The Smart Voucher a customer speaking ``language`` earns at the program's goal."""
    type(program).objects.filter(pk=program.pk).update(stamps_goal=1, reward_kind="smart_voucher")
    program.refresh_from_db()
    card = card_of(program, language)
    add_stamps(
        business=program.business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk
    )
    return Voucher.objects.get(card=card)


def test_a_thai_customers_goal_voucher_pass_is_in_thai(data_dir, program, staff_actor):
    voucher = goal_voucher(program, staff_actor, "th")
    with zipfile.ZipFile(io.BytesIO(apple.build_voucher_pass(voucher))) as archive:
        document = json.loads(archive.read("pass.json"))
    coupon = document["coupon"]
    assert coupon["primaryFields"][0]["value"] == THAI["reward_title"]
    details = {field["key"]: field["value"] for field in coupon["backFields"]}
    assert details["details"] == THAI["reward_description"]


# --- Google --------------------------------------------------------------------------------


@pytest.fixture
def google_on(settings, tmp_path):
    yield from configured(settings, tmp_path, Signer())


def localized(text, **others):
    value = {"defaultValue": {"language": "en", "value": text}}
    if others:
        value["translatedValues"] = [
            {"language": language, "value": other} for language, other in others.items()
        ]
    return value


def test_the_loyalty_class_has_the_texts_of_every_language(google_on, program):
    google.client().upsert_class(program)
    body = google_on.resources[("loyaltyClass", f"{ISSUER}.program-{program.pk}")]
    assert body["programName"] == "Coffee card"
    assert body["localizedProgramName"] == localized(
        "Coffee card", th=THAI["name"], kk="Кофе картасы"
    )
    modules = {module["id"]: module for module in body["textModulesData"]}
    reward = modules["reward"]
    assert reward["body"] == "Free coffee\nAny size"
    # Languages without their own reward (Kazakh) are left to the default value.
    assert reward["localizedBody"] == localized(
        "Free coffee\nAny size", th=f"{THAI['reward_title']}\n{THAI['reward_description']}"
    )
    # Our own label, in each of our languages.
    assert reward["localizedHeader"]["defaultValue"] == {"language": "en", "value": "Reward"}
    headers = {
        item["language"]: item["value"] for item in reward["localizedHeader"]["translatedValues"]
    }
    assert set(headers) == {"th", "kk", "uk", "ru"}
    assert headers["ru"] != "Reward"
    assert modules["terms"]["localizedBody"] == localized("One stamp per visit", th=THAI["terms"])


def test_a_business_speaking_thai_by_default_gives_thai_as_the_default_value(business):
    business.default_language = "th"
    business.save(update_fields=["default_language"])
    program = factories.ProgramFactory(
        business=business, name=THAI["name"], translations={"en": {"name": "Coffee card"}}
    )
    body = google.loyalty_class(program)
    assert body["programName"] == THAI["name"]
    assert body["localizedProgramName"]["defaultValue"] == {
        "language": "th",
        "value": THAI["name"],
    }
    assert body["localizedProgramName"]["translatedValues"] == [
        {"language": "en", "value": "Coffee card"}
    ]


def test_terms_written_only_in_thai_stand_in_as_the_default_value(business):
    """Google wants a text in every value: no empty default, no empty translation."""
    program = factories.ProgramFactory(
        business=business, terms="", translations={"th": {"terms": THAI["terms"]}}
    )
    modules = {module["id"]: module for module in google.loyalty_class(program)["textModulesData"]}
    terms = modules["terms"]
    assert terms["body"] == THAI["terms"]
    assert terms["localizedBody"] == {"defaultValue": {"language": "th", "value": THAI["terms"]}}
    values = [
        value
        for module in modules.values()
        for localized in (module["localizedHeader"], module["localizedBody"])
        for value in [localized["defaultValue"], *localized.get("translatedValues", [])]
    ]
    assert all(value["value"].strip() for value in values)


def test_the_loyalty_object_is_in_the_cards_customers_language(google_on, program):
    thai, english = card_of(program, "th"), card_of(program, "en")
    google.client().upsert_object(thai)
    google.client().upsert_object(english)
    for card, reward in ((thai, THAI["reward_title"]), (english, "Free coffee")):
        body = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
        (following,) = [m for m in body["textModulesData"] if m["id"] == "next"]
        assert following["body"].endswith(reward)


def test_a_thai_customers_goal_voucher_offer_is_in_thai(google_on, program, staff_actor):
    voucher = goal_voucher(program, staff_actor, "th")
    google.client().upsert_offer(voucher)
    body = google_on.resources[("offerObject", f"{ISSUER}.voucher-{voucher.pk}")]
    modules = {module["id"]: module["body"] for module in body["textModulesData"]}
    assert modules["voucher"] == THAI["reward_title"]
    assert modules["details"] == THAI["reward_description"]


def test_the_offer_class_has_the_name_and_terms_of_every_language(google_on, program, staff_actor):
    voucher = issue_voucher(
        business=program.business,
        actor=staff_actor,
        title="Cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method=RedemptionMethod.STAFF_SCAN,
        card=card_of(program, "th"),
        program=program,
    )
    google.client().upsert_offer(voucher)
    body = google_on.resources[("offerClass", f"{ISSUER}.offer-program-{program.pk}")]
    assert body["title"] == "Coffee card"
    assert body["localizedTitle"] == localized("Coffee card", th=THAI["name"], kk="Кофе картасы")
    assert body["finePrint"] == "One stamp per visit"
    assert body["localizedFinePrint"] == localized("One stamp per visit", th=THAI["terms"])


# --- milestones ------------------------------------------------------------------------

COOKIE_TH = "คุกกี้ฟรีหนึ่งชิ้น"


@pytest.fixture
def milestone(program):
    return factories.MilestoneFactory(
        program=program,
        stamps=3,
        reward_title="Free cookie",
        translations={"th": {"reward_title": COOKIE_TH}},
    )


def test_a_thai_customers_pass_names_the_next_milestone_in_thai(data_dir, program, milestone):
    shown = values(pass_json(apple.card_pass(card_of(program, "th"))))
    assert shown["next"] == COOKIE_TH
    assert COOKIE_TH in shown["progress"]
    english = values(pass_json(apple.card_pass(card_of(program, "kk"))))
    assert english["next"] == "Free cookie"  # no Kazakh title: the default language's


def test_a_changed_milestone_title_is_a_new_pass(data_dir, program, milestone):
    card = card_of(program, "th")
    assert values(pass_json(apple.card_pass(card)))["next"] == COOKIE_TH
    milestone.translations = {"th": {"reward_title": "มัฟฟินฟรี"}}
    milestone.save()
    card = Card.objects.get(pk=card.pk)
    assert values(pass_json(apple.card_pass(card)))["next"] == "มัฟฟินฟรี"


def test_the_google_object_names_the_next_milestone_in_the_customers_language(program, milestone):
    thai = google.loyalty_object(card_of(program, "th"))
    modules = {module["id"]: module["body"] for module in thai["textModulesData"]}
    assert COOKIE_TH in modules["next"]
    english = google.loyalty_object(card_of(program, "en"))
    assert "Free cookie" in {m["id"]: m["body"] for m in english["textModulesData"]}["next"]


def test_a_milestone_voucher_pass_is_titled_in_thai(data_dir, program, milestone, staff_actor):
    VoucherTemplate.objects.create(milestone=milestone, redemption_method="staff_scan")
    Milestone.objects.filter(pk=milestone.pk).update(reward_kind="smart_voucher")
    card = card_of(program, "th")
    for _ in range(3):
        add_stamps(business=program.business, actor=staff_actor, source="staff", card_id=card.pk)
    voucher = Voucher.objects.get(card=card)
    document = pass_json(apple.build_voucher_pass(voucher))
    assert COOKIE_TH in json.dumps(document, ensure_ascii=False)
