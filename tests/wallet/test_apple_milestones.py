"""The back of a card's Apple pass lists every reward of a cycle: each milestone, labelled
"Reward at N stamps" in the device's language (its .lproj/pass.strings, plural forms and
all), then the goal's reward; the rewards' own texts in the customer's language."""

import hashlib
import io
import json
import zipfile

import pytest

from stampcard.wallet import apple
from tests import factories
from tests.customer.test_program_texts import THAI, card_of
from tests.wallet.test_program_texts import program as program  # the fixture

pytestmark = pytest.mark.django_db

LANGUAGES = ("en", "th", "kk", "uk", "ru")
COOKIE_TH = "คุกกี้ฟรีหนึ่งชิ้น"
MUFFIN_RU = "Бесплатный маффин"

# Each count's label in each language's plural form, as the .lproj files must say it.
LABELS = {
    1: {
        "en": "Reward at 1 stamp",
        "th": "รางวัลเมื่อครบ 1 แสตมป์",
        "kk": "1 мөртаңбаға сыйлық",
        "uk": "Нагорода за 1 штамп",
        "ru": "Награда за 1 штамп",
    },
    3: {
        "en": "Reward at 3 stamps",
        "th": "รางวัลเมื่อครบ 3 แสตมป์",
        "kk": "3 мөртаңбаға сыйлық",
        "uk": "Нагорода за 3 штампи",
        "ru": "Награда за 3 штампа",
    },
    7: {
        "en": "Reward at 7 stamps",
        "th": "รางวัลเมื่อครบ 7 แสตมป์",
        "kk": "7 мөртаңбаға сыйлық",
        "uk": "Нагорода за 7 штампів",
        "ru": "Награда за 7 штампов",
    },
}


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def milestones(program):
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
    factories.MilestoneFactory(program=program, stamps=1, reward_title="Free sticker")
    program.refresh_from_db()
    return program


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def back_of(files: dict[str, bytes]) -> list[dict]:
    return json.loads(files["pass.json"])["storeCard"]["backFields"]


def strings_of(files: dict[str, bytes], language: str) -> dict[str, str]:
    """A .lproj/pass.strings file read back as Wallet reads it: key -> text."""
    text = files[f"{language}.lproj/pass.strings"].decode("utf-16")
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition('" = "')
        assert key.startswith('"'), line
        assert value.endswith('";'), line
        found[key[1:]] = value[:-2].replace("\\n", "\n")
    return found


def test_the_back_lists_each_milestone_then_the_goal_in_the_customers_language(milestones):
    back = back_of(unzip(apple.card_pass(card_of(milestones, "th"))))
    assert [field["key"] for field in back] == [
        "progress",
        "milestone-1",
        "milestone-3",
        "milestone-7",
        "reward",
        "terms",
    ]
    fields = {field["key"]: field for field in back}
    # The labels are the English keys every .lproj looks up; the values the customer's.
    assert fields["milestone-1"]["label"] == "Reward at 1 stamp"
    assert fields["milestone-3"]["label"] == "Reward at 3 stamps"
    assert fields["milestone-7"]["label"] == "Reward at 7 stamps"
    assert fields["milestone-3"]["value"] == COOKIE_TH
    # No Thai text for these: the default language's, as the "Next reward" field does.
    assert fields["milestone-1"]["value"] == "Free sticker"
    assert fields["milestone-7"]["value"] == "Free muffin\nBlueberry or chocolate"
    assert fields["reward"]["label"] == "Reward"
    assert fields["reward"]["value"] == f"{THAI['reward_title']}\n{THAI['reward_description']}"


def test_a_russian_customer_sees_the_russian_title_where_there_is_one(milestones):
    fields = {f["key"]: f for f in back_of(unzip(apple.card_pass(card_of(milestones, "ru"))))}
    assert fields["milestone-7"]["value"] == f"{MUFFIN_RU}\nBlueberry or chocolate"
    assert fields["milestone-3"]["value"] == "Free cookie"


def test_every_language_has_each_milestones_label_in_its_plural_form(milestones):
    files = unzip(apple.card_pass(card_of(milestones, "en")))
    for language in LANGUAGES:
        strings = strings_of(files, language)
        for stamps, label in LABELS.items():
            assert strings[apple.milestone_label(stamps)] == label[language], (language, stamps)
    # Every label on the pass resolves in every language: none is shown as a raw key.
    store = json.loads(files["pass.json"])["storeCard"]
    labels = {f["label"] for group in store.values() for f in group if "label" in f}
    for language in LANGUAGES:
        assert labels <= strings_of(files, language).keys(), language


def test_the_manifest_covers_the_strings_with_the_milestones(milestones):
    files = unzip(apple.card_pass(card_of(milestones, "en")))
    manifest = json.loads(files["manifest.json"])
    for language in LANGUAGES:
        name = f"{language}.lproj/pass.strings"
        assert manifest[name] == hashlib.sha1(files[name], usedforsecurity=False).hexdigest()


def test_a_new_milestone_reaches_the_back_and_the_strings_of_the_next_pass(program):
    card = card_of(program, "uk")
    before = unzip(apple.card_pass(card))
    assert [field["key"] for field in back_of(before)] == ["progress", "reward", "terms"]
    assert "Reward at 3 stamps" not in strings_of(before, "uk")

    factories.MilestoneFactory(program=program, stamps=3, reward_title="Free cookie")
    card.refresh_from_db()
    card.program.refresh_from_db()
    after = unzip(apple.card_pass(card))
    fields = {field["key"]: field for field in back_of(after)}
    assert fields["milestone-3"]["label"] == "Reward at 3 stamps"
    assert strings_of(after, "uk")["Reward at 3 stamps"] == "Нагорода за 3 штампи"


def test_a_program_without_milestones_carries_no_milestone_strings(program):
    files = unzip(apple.card_pass(card_of(program, "en")))
    for language in LANGUAGES:
        assert not any(key.startswith("Reward at") for key in strings_of(files, language))
