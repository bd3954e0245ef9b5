"""A milestone's reward in the business's other languages: read in the customer's language,
else in the default language's; written by the designer's service without losing the rest."""

import pytest
from django.core.exceptions import ValidationError

from stampcard.loyalty.models import Milestone, Reward
from stampcard.loyalty.progress import progress_of
from stampcard.loyalty.services import add_stamps
from stampcard.loyalty.services.programs import MilestoneDraft, save_program
from stampcard.vouchers.models import Voucher, VoucherTemplate
from tests import factories

pytestmark = pytest.mark.django_db

COOKIE_TH = "คุกกี้ฟรี"


@pytest.fixture
def milestone(business):
    program = factories.ProgramFactory(
        business=business, stamps_goal=6, reward_title="Coffee", max_stamps_per_visit=5
    )
    return factories.MilestoneFactory(
        program=program,
        stamps=3,
        reward_title="Free cookie",
        reward_description="Any cookie",
        translations={"th": {"reward_title": COOKIE_TH, "reward_description": "คุกกี้ชิ้นไหนก็ได้"}},
    )


def test_the_title_is_read_in_a_language_else_in_the_default_one(milestone):
    assert milestone.title_in("th") == COOKIE_TH
    assert milestone.title_in("kk") == "Free cookie"
    assert milestone.title_in(None) == "Free cookie"
    assert milestone.text_in("reward_description", "th") == "คุกกี้ชิ้นไหนก็ได้"
    milestone.translations = {"th": {"reward_title": "  "}, "ru": "not a mapping"}
    assert milestone.title_in("th") == "Free cookie"
    assert milestone.title_in("ru") == "Free cookie"
    with pytest.raises(ValueError, match="stamps"):
        milestone.text_in("stamps", "th")


def test_progress_names_the_next_milestone_in_the_customers_language(milestone):
    thai = factories.CardFactory(program=milestone.program, customer__language="th", stamps=1)
    kazakh = factories.CardFactory(program=milestone.program, customer__language="kk", stamps=1)
    assert progress_of(thai, "th").next_reward == COOKIE_TH
    assert progress_of(kazakh, "kk").next_reward == "Free cookie"


def test_a_milestone_reward_and_its_voucher_are_titled_in_the_customers_language(
    business, milestone, staff_actor
):
    VoucherTemplate.objects.create(milestone=milestone, redemption_method="staff_scan")
    Milestone.objects.filter(pk=milestone.pk).update(reward_kind="smart_voucher")
    thai = factories.CardFactory(program=milestone.program, customer__language="th")
    english = factories.CardFactory(program=milestone.program, customer__language="en")
    for card in (thai, english):
        add_stamps(business=business, actor=staff_actor, source="staff", card_id=card.pk, count=3)
    reward = Reward.objects.get(card=thai, milestone=milestone)
    assert reward.title_in("th") == COOKIE_TH
    assert reward.title == "Free cookie"
    by_card = {v.card_id: v for v in Voucher.objects.filter(reward__milestone=milestone)}
    assert (by_card[thai.pk].title, by_card[thai.pk].description) == (
        COOKIE_TH,
        "คุกกี้ชิ้นไหนก็ได้",
    )
    assert (by_card[english.pk].title, by_card[english.pk].description) == (
        "Free cookie",
        "Any cookie",
    )


def test_the_designer_service_writes_titles_and_keeps_descriptions(
    business, staff_actor, milestone
):
    program = milestone.program
    drafts = [
        MilestoneDraft(
            stamps=3,
            reward_title="Free cookie",
            pk=milestone.pk,
            titles={"th": " คุกกี้ช็อกโกแลต ", "kk": "", "xx": "not offered"},
        ),
        MilestoneDraft(stamps=5, reward_title="Free muffin", titles={"ru": "Маффин"}),
    ]
    save_program(
        business=business, actor=staff_actor, program=program, values={}, milestones=drafts
    )
    first, second = Milestone.objects.filter(program=program).order_by("stamps")
    assert first.translations == {
        "th": {"reward_title": "คุกกี้ช็อกโกแลต", "reward_description": "คุกกี้ชิ้นไหนก็ได้"}
    }
    assert second.translations == {"ru": {"reward_title": "Маффин"}}
    # Titles left out are taken away; a draft without titles keeps the stored ones.
    version = program.design_version
    save_program(
        business=business,
        actor=staff_actor,
        program=program,
        values={},
        milestones=[
            MilestoneDraft(stamps=3, reward_title="Free cookie", pk=first.pk, titles={}),
            MilestoneDraft(stamps=5, reward_title="Free muffin", pk=second.pk),
        ],
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.translations == {"th": {"reward_description": "คุกกี้ชิ้นไหนก็ได้"}}
    assert second.translations == {"ru": {"reward_title": "Маффин"}}
    program.refresh_from_db()
    assert program.design_version > version  # issued passes learn of it


def test_a_translated_title_too_long_is_refused(business, staff_actor, milestone):
    with pytest.raises(ValidationError):
        save_program(
            business=business,
            actor=staff_actor,
            program=milestone.program,
            values={},
            milestones=[
                MilestoneDraft(
                    stamps=3, reward_title="x", pk=milestone.pk, titles={"th": "ก" * 121}
                )
            ],
        )
    milestone.refresh_from_db()
    assert milestone.title_in("th") == COOKIE_TH
