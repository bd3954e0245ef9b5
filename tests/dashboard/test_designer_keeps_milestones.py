"""Saving the program designer keeps what it does not edit: milestones set up elsewhere
(a Smart Voucher at 5 stamps, its voucher settings) survive a save of the card."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from stampcard.loyalty.models import Milestone, Program
from stampcard.vouchers.models import CodePool, VoucherTemplate
from tests import factories


class _FormFields(HTMLParser):
    """The fields of the page's designer form, as a browser would submit them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.setdefault(self._select, []).append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, []).append("")

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def designer_fields(client, url) -> dict:
    page = client.get(url)
    assert page.status_code == 200
    parser = _FormFields()
    parser.feed(page.content.decode())
    parser.fields.pop("preview_language", None)
    return {
        name: values if len(values) > 1 else values[0] for name, values in parser.fields.items()
    }


@pytest.fixture
def voucher_card(business):
    """A card with a Smart Voucher milestone at 5 (with its own voucher settings) and a
    Smart Voucher goal at 10."""
    pool = CodePool.objects.create(business=business, name="POS", kind="static", static_code="FREE")
    program = factories.ProgramFactory(
        business=business, stamps_goal=10, reward_kind="smart_voucher", reward_title="Free coffee"
    )
    VoucherTemplate.objects.create(program=program, redemption_method="staff_scan")
    milestone = factories.MilestoneFactory(
        program=program,
        stamps=5,
        reward_kind="smart_voucher",
        reward_title="Free cookie",
        reward_description="Any cookie from the jar.",
    )
    VoucherTemplate.objects.create(
        milestone=milestone,
        redemption_method="redeem_code",
        code_pool=pool,
        code_display="code128",
        validity="days",
        validity_amount=14,
    )
    return program


def milestone_state(program):
    return [
        (
            m.pk,
            m.stamps,
            m.reward_kind,
            m.reward_title,
            m.reward_description,
            m.voucher_template.redemption_method,
            m.voucher_template.code_pool_id,
            m.voucher_template.code_display,
            m.voucher_template.validity_amount,
        )
        for m in Milestone.objects.filter(program=program).select_related("voucher_template")
    ]


def test_a_designer_save_leaves_a_voucher_milestone_as_it_was(
    client, owner, business, voucher_card
):
    before = milestone_state(voucher_card)
    client.force_login(owner)
    url = reverse("dashboard:program_edit", args=[business.slug, voucher_card.pk])
    response = client.post(url, designer_fields(client, url))
    assert response.status_code == 302
    assert milestone_state(voucher_card) == before
    assert before[0][2] == "smart_voucher"


def test_editing_the_goal_reward_changes_only_the_goal(client, owner, business, voucher_card):
    before = milestone_state(voucher_card)
    client.force_login(owner)
    url = reverse("dashboard:program_edit", args=[business.slug, voucher_card.pk])
    fields = designer_fields(client, url)
    fields.update(reward_title="Two free coffees", stamps_goal="12")
    assert client.post(url, fields).status_code == 302
    program = Program.objects.get(pk=voucher_card.pk)
    assert (program.reward_title, program.stamps_goal) == ("Two free coffees", 12)
    assert milestone_state(voucher_card) == before


def test_renaming_a_milestone_keeps_its_kind_and_voucher_settings(
    client, owner, business, voucher_card
):
    (before,) = milestone_state(voucher_card)
    client.force_login(owner)
    url = reverse("dashboard:program_edit", args=[business.slug, voucher_card.pk])
    fields = designer_fields(client, url)
    assert fields["ms-0-reward_title"] == "Free cookie"
    fields.update({"ms-0-reward_title": "Free cookie or muffin", "ms-0-stamps": "4"})
    assert client.post(url, fields).status_code == 302
    (after,) = milestone_state(voucher_card)
    assert after[1:4] == (4, "smart_voucher", "Free cookie or muffin")
    assert after[4:] == before[4:]


def test_a_new_milestone_from_the_designer_is_a_simple_reward(
    client, owner, business, voucher_card
):
    client.force_login(owner)
    url = reverse("dashboard:program_edit", args=[business.slug, voucher_card.pk])
    fields = designer_fields(client, url)
    fields.update({"ms-1-stamps": "8", "ms-1-reward_title": "Free cake"})
    assert client.post(url, fields).status_code == 302
    kinds = [(m.stamps, m.reward_kind) for m in Milestone.objects.filter(program=voucher_card)]
    assert kinds == [(5, "smart_voucher"), (8, "simple")]
