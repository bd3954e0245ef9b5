"""The program designer: the service's guarantees, the page's answers, hostile input."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.models import Milestone, Program
from stampcard.loyalty.services.programs import (
    MilestoneDraft,
    save_program,
    set_program_status,
)
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.errors import NotAllowed
from stampcard.vouchers.models import CodePool, VoucherTemplate
from stampcard.wallet import changes, stamp_grid
from stampcard.wallet.consumers import refresh_passes
from tests import factories

BASE = {
    "name": "Coffee card",
    "stamps_goal": "8",
    "reward_kind": "simple",
    "reward_title": "Free coffee",
    "reward_description": "",
    "stamp_rule": "visit",
    "amount_per_stamp_text": "",
    "amount_rounding": "down",
    "minimum_spend_text": "",
    "allowed_sources": ["staff", "kiosk"],
    "cooldown_seconds": "0",
    "max_stamps_per_visit": "1",
    "max_stamps_per_day": "",
    "background_color": "#0f766e",
    "foreground_color": "#ffffff",
    "label_color": "#ccfbf1",
    "stamp_icon": "star",
    "terms": "",
    "ms-TOTAL_FORMS": "5",
    "ms-INITIAL_FORMS": "0",
    "voucher-redemption_method": "staff_scan",
    "voucher-validity": "unlimited",
}


def form(**changes):
    data = dict(BASE)
    data.update(changes)
    return data


def new_url(business):
    return reverse("dashboard:program_new", args=[business.slug])


def test_owner_creates_a_draft_program_with_translations_and_a_milestone(client, owner, business):
    client.force_login(owner)
    response = client.post(
        new_url(business),
        form(
            **{
                "tr_th_name": "บัตรกาแฟ",
                "tr_th_reward_title": "กาแฟฟรี",
                "ms-0-stamps": "4",
                "ms-0-reward_title": "Free cookie",
            }
        ),
    )
    assert response.status_code == 302
    program = Program.objects.get(business=business)
    assert program.status == "draft"
    assert program.stamps_goal == 8
    assert program.allowed_sources == ["staff", "kiosk"]
    assert program.stamp_icon == "star"
    assert program.translations == {"th": {"name": "บัตรกาแฟ", "reward_title": "กาแฟฟรี"}}
    assert program.text_in("name", "th") == "บัตรกาแฟ"
    assert program.text_in("name", "kk") == "Coffee card"  # falls back to the default
    assert program.text_in("terms", "th") == ""
    assert [(m.stamps, m.reward_title) for m in program.milestones.all()] == [(4, "Free cookie")]
    assert AuditEntry.objects.filter(action="program.created").count() == 1


def test_amount_based_stamping_is_written_in_minor_units(client, owner, business):
    business.currency = "THB"
    business.save()
    client.force_login(owner)
    response = client.post(
        new_url(business),
        form(stamp_rule="amount", amount_per_stamp_text="100", minimum_spend_text="50.50"),
    )
    assert response.status_code == 302
    program = Program.objects.get(business=business)
    assert (program.amount_per_stamp, program.minimum_spend) == (10000, 5050)


def test_a_smart_voucher_keeps_its_voucher_settings(client, owner, business):
    pool = CodePool.objects.create(business=business, name="POS", kind="static", static_code="FREE")
    client.force_login(owner)
    response = client.post(
        new_url(business),
        form(
            reward_kind="smart_voucher",
            **{
                "voucher-redemption_method": "redeem_code",
                "voucher-code_pool": str(pool.pk),
                "voucher-validity": "days",
                "voucher-validity_amount": "30",
            },
        ),
    )
    assert response.status_code == 302
    template = VoucherTemplate.objects.get(program__business=business)
    assert (template.redemption_method, template.code_pool, template.validity_amount) == (
        "redeem_code",
        pool,
        30,
    )


@pytest.mark.parametrize(
    ("changes", "field_text"),
    [
        ({"stamps_goal": "0"}, "greater than or equal to 1"),
        ({"stamps_goal": "99999999999"}, "less than or equal to 50"),
        ({"name": ""}, "This field is required"),
        ({"name": "x" * 500}, "at most 120 characters"),
        ({"background_color": "#zz<>zz"}, "Use a colour like"),
        ({"label_color": "red;}</style><script>"}, "at most 7 characters"),
        ({"allowed_sources": ["staff", "teleport"]}, "not one of the available choices"),
        ({"stamp_icon": "../../etc/passwd"}, "not one of the available choices"),
        ({"stamp_rule": "amount", "amount_per_stamp_text": "-5"}, "cannot be negative"),
        ({"stamp_rule": "amount", "amount_per_stamp_text": "1e400"}, "Enter the amount"),
        ({"max_stamps_per_visit": "3", "max_stamps_per_day": "2"}, "at least as many stamps"),
        ({"ms-0-stamps": "9", "ms-0-reward_title": "Too late"}, "comes before the goal"),
        ({"ms-0-stamps": "3"}, "needs both its stamp and its reward"),
        ({"tr_th_name": "ก" * 200}, "at most 120 characters"),
        ({"tr_xx_name": "ignored", "reward_kind": "jackpot"}, "not one of the available choices"),
        ({"ms-TOTAL_FORMS": "100000"}, ""),
    ],
)
def test_hostile_input_is_refused_clearly_and_writes_nothing(
    client, owner, business, changes, field_text
):
    client.force_login(owner)
    response = client.post(new_url(business), form(**changes))
    assert response.status_code == 400
    assert field_text.encode() in response.content
    assert not Program.objects.filter(business=business).exists()
    assert not Milestone.objects.exists()


def test_refusals_are_in_the_users_language(client, owner, business):
    client.force_login(owner)
    client.cookies["django_language"] = "th"
    response = client.post(
        new_url(business), form(background_color="nope"), HTTP_ACCEPT_LANGUAGE="th"
    )
    assert response.status_code == 400
    assert "ใช้รหัสสีในรูปแบบ".encode() in response.content


def test_editing_a_live_program_tells_every_issued_pass(client, owner, business, program):
    cards = [factories.CardFactory(program=program) for _ in range(3)]
    other = factories.CardFactory(program=factories.ProgramFactory(business=business))
    before = program.design_version
    client.force_login(owner)
    response = client.post(
        reverse("dashboard:program_edit", args=[business.slug, program.pk]),
        form(name="Coffee card", stamps_goal="10", reward_title="Two free coffees"),
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.design_version > before
    # One message for the whole program, whatever its number of cards (wallet.changes).
    (told,) = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED)
    assert told.payload == {"program_id": program.pk}
    refresh_passes(told)
    for card in cards:
        card.refresh_from_db()
        assert card.updated_at >= told.created_at
    other.refresh_from_db()
    assert other.updated_at < told.created_at


def test_saving_without_a_change_tells_nobody(client, owner, business, program):
    factories.CardFactory(program=program)
    save_program(business=business, actor=_owner_actor(owner, business), program=program, values={})
    assert not OutboxMessage.objects.exists()


def _owner_actor(user, business):
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.models import Membership

    return Actor.for_member(Membership.objects.get(business=business, user=user))


def test_status_moves_and_refusals(client, owner, business):
    actor = _owner_actor(owner, business)
    program = factories.ProgramFactory(business=business, status="draft")
    factories.CardFactory(program=program)
    set_program_status(business=business, actor=actor, program=program, status="active")
    with pytest.raises(ValidationError):
        set_program_status(business=business, actor=actor, program=program, status="draft")
    # The move told the program's passes, once (the refused one told nothing).
    (told,) = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED)
    assert told.payload == {"program_id": program.pk}
    client.force_login(owner)
    url = reverse("dashboard:program_status", args=[business.slug, program.pk])
    response = client.post(url, {"status": "draft"}, follow=True)
    assert b"cannot move from this status" in response.content
    client.post(url, {"status": "archived"})
    program.refresh_from_db()
    assert program.status == "archived"
    client.post(url, {"status": "<script>"})
    program.refresh_from_db()
    assert program.status == "archived"


def test_staff_may_not_design_and_managers_may(business, bob, maria, client, program):
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.models import Membership

    staff = Actor.for_member(Membership.objects.get(business=business, user=bob))
    with pytest.raises(NotAllowed):
        save_program(business=business, actor=staff, program=program, values={"name": "Mine"})
    client.force_login(bob)
    assert client.post(new_url(business), form()).status_code == 403
    assert not Program.objects.filter(name="Mine").exists()
    client.force_login(maria)
    assert client.post(new_url(business), form(name="Managers card")).status_code == 302


def test_a_program_of_another_business_cannot_be_edited(client, owner, business, other_business):
    foreign = factories.ProgramFactory(business=other_business, name="Secret")
    client.force_login(owner)
    url = reverse("dashboard:program_edit", args=[business.slug, foreign.pk])
    assert client.post(url, form(name="Taken")).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Secret"


def test_milestones_are_changed_swapped_and_removed(business, owner, program):
    actor = _owner_actor(owner, business)
    first = factories.MilestoneFactory(program=program, stamps=3, reward_title="Cookie")
    second = factories.MilestoneFactory(program=program, stamps=6, reward_title="Cake")
    save_program(
        business=business,
        actor=actor,
        program=program,
        values={},
        milestones=[
            MilestoneDraft(pk=first.pk, stamps=6, reward_title="Cookie"),
            MilestoneDraft(pk=second.pk, stamps=3, reward_title="Cake"),
        ],
    )
    assert [(m.stamps, m.reward_title) for m in program.milestones.all()] == [
        (3, "Cake"),
        (6, "Cookie"),
    ]
    save_program(business=business, actor=actor, program=program, values={}, milestones=[])
    assert not program.milestones.exists()


def test_a_milestone_of_another_program_is_refused(business, owner, program):
    foreign = factories.MilestoneFactory(program=factories.ProgramFactory(business=business))
    with pytest.raises(ValidationError):
        save_program(
            business=business,
            actor=_owner_actor(owner, business),
            program=program,
            values={},
            milestones=[MilestoneDraft(pk=foreign.pk, stamps=2, reward_title="x")],
        )
    foreign.refresh_from_db()
    assert foreign.stamps == 5


def test_preview_draws_what_was_typed_and_saves_nothing(client, owner, business):
    client.force_login(owner)
    url = reverse("dashboard:program_preview", args=[business.slug])
    response = client.post(
        url,
        form(
            name="Bakery <b>card</b>",
            reward_title="Free bun",
            background_color="#7c2d12",
            preview_language="th",
            tr_th_reward_title="ขนมปังฟรี",
        ),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Bakery &lt;b&gt;card&lt;/b&gt;" in body
    assert "ขนมปังฟรี" in body
    assert 'fill="#7c2d12"' in body
    assert body.count("<circle") >= 8
    assert not Program.objects.exists()
    hostile = client.post(url, form(background_color='"/><script>alert(1)</script>'))
    assert hostile.status_code == 200
    assert b"<script>" not in hostile.content
    assert client.get(url).status_code == 200  # a new card's defaults


@pytest.fixture
def drawings(settings, monkeypatch):
    """Every stamp grid the preview draws (the real drawing still runs), with a cache of this
    test's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "designer-preview-test",
        }
    }
    drawn: list[int] = []
    real = stamp_grid.draw_grid

    def counted(*args, **kwargs):
        drawn.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(stamp_grid, "draw_grid", counted)
    return drawn


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (200, 40, 40, 255)).save(out, format="PNG")
    return out.getvalue()


def pictures_in(response) -> list[str]:
    return re.findall(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", response.content.decode())


def test_typing_text_draws_no_picture_but_a_change_of_look_does(
    client, owner, business, drawings, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(owner)
    url = reverse("dashboard:program_preview", args=[business.slug])
    first = client.post(url, form(name="C"))
    assert len(drawings) == 2  # Apple's strip and Google's hero
    for typed in ("Co", "Cof", "Coffee card"):
        again = client.post(url, form(name=typed, reward_title=typed, terms=typed))
        assert typed in again.content.decode()
        assert pictures_in(again) == pictures_in(first)
    assert len(drawings) == 2
    # Each thing the pictures show draws them anew, once.
    looks = [
        {"background_color": "#7c2d12"},
        {"foreground_color": "#000000"},
        {"label_color": "#000000"},
        {"stamp_icon": "heart"},
        {"stamps_goal": "9"},
        {"ms-0-stamps": "4", "ms-0-reward_title": "Cookie"},
        {"strip_image_file": lambda: SimpleUploadedFile("s.png", png((600, 200)))},
        {"stamp_image_file": lambda: SimpleUploadedFile("t.png", png((64, 64)))},
    ]
    for look in looks:
        before = len(drawings)
        for typed in ("Tea", "Tea card"):
            data = form(name=typed, **{k: v() if callable(v) else v for k, v in look.items()})
            changed = client.post(url, data)
            assert changed.status_code == 200
            assert pictures_in(changed) != pictures_in(first), look
        assert len(drawings) == before + 2, look


# --- milestones in every language ------------------------------------------------------


def test_the_designer_shows_a_title_field_per_language_for_each_milestone(
    client, owner, business, program
):
    business.languages = ["th", "kk"]
    business.save()
    Milestone.objects.create(
        program=program,
        stamps=3,
        reward_title="Free cookie",
        translations={"th": {"reward_title": "คุกกี้ฟรี"}},
    )
    client.force_login(owner)
    page = client.get(reverse("dashboard:program_edit", args=[business.slug, program.pk]))
    body = page.content.decode()
    assert 'name="ms-0-tr_th"' in body
    assert 'value="คุกกี้ฟรี"' in body
    assert 'name="ms-4-tr_kk"' in body
    assert 'name="ms-0-tr_ru"' not in body  # a language the business does not offer


def test_the_designer_saves_each_milestones_title_per_language(client, owner, business, program):
    client.force_login(owner)
    milestone = Milestone.objects.create(
        program=program,
        stamps=3,
        reward_title="Free cookie",
        reward_description="Any cookie",
        translations={"th": {"reward_description": "คุกกี้ชิ้นไหนก็ได้"}},
    )
    url = reverse("dashboard:program_edit", args=[business.slug, program.pk])
    response = client.post(
        url,
        form(
            **{
                "ms-INITIAL_FORMS": "1",
                "ms-0-pk": str(milestone.pk),
                "ms-0-stamps": "3",
                "ms-0-reward_title": "Free cookie",
                "ms-0-tr_th": "คุกกี้ฟรี",
                "ms-0-tr_uk": "Безкоштовне печиво",
                "ms-1-stamps": "5",
                "ms-1-reward_title": "Free muffin",
                "ms-1-tr_ru": "Бесплатный маффин",
            }
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    milestone.refresh_from_db()
    assert milestone.translations == {
        "th": {"reward_title": "คุกกี้ฟรี", "reward_description": "คุกกี้ชิ้นไหนก็ได้"},
        "uk": {"reward_title": "Безкоштовне печиво"},
    }
    assert milestone.title_in("th") == "คุกกี้ฟรี"
    assert milestone.title_in("kk") == "Free cookie"
    muffin = Milestone.objects.get(program=program, stamps=5)
    assert muffin.translations == {"ru": {"reward_title": "Бесплатный маффин"}}


def test_a_translated_milestone_title_too_long_is_refused_on_its_field(
    client, owner, business, program
):
    client.force_login(owner)
    url = reverse("dashboard:program_edit", args=[business.slug, program.pk])
    response = client.post(
        url,
        form(**{"ms-0-stamps": "3", "ms-0-reward_title": "Cookie", "ms-0-tr_th": "ก" * 121}),
    )
    assert response.status_code == 400
    assert not Milestone.objects.filter(program=program).exists()


def test_the_preview_in_thai_names_the_milestones_in_thai(client, owner, business):
    client.force_login(owner)
    url = reverse("dashboard:program_preview", args=[business.slug])
    milestones = {
        "ms-0-stamps": "3",
        "ms-0-reward_title": "Free cookie",
        "ms-0-tr_th": "คุกกี้ฟรี",
        "ms-1-stamps": "5",
        "ms-1-reward_title": "Free muffin",
    }
    thai = client.post(url, form(preview_language="th", **milestones)).content.decode()
    assert "คุกกี้ฟรี" in thai
    assert "Free muffin" in thai  # no Thai title: the default language's
    assert "Free cookie" not in thai
    english = client.post(url, form(preview_language="en", **milestones)).content.decode()
    assert "Free cookie" in english
    assert "คุกกี้ฟรี" not in english


# --- pictures sent once to the preview -------------------------------------------------


def test_a_picture_is_sent_once_and_its_token_stands_for_it(
    client, owner, business, drawings, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(owner)
    url = reverse("dashboard:program_preview", args=[business.slug])
    chosen = client.post(url, form(strip_image_file=SimpleUploadedFile("s.png", png((600, 200)))))
    token = re.search(r'name="strip_image_token" value="([A-Za-z0-9_-]+)"', chosen.content.decode())
    assert token is not None
    assert 'id="picture-tokens" hx-swap-oob="true"' in chosen.content.decode()
    # The next keystroke sends the token, not the file: the same pictures come back.
    typed = client.post(url, form(name="Tea", strip_image_token=token[1]))
    assert pictures_in(typed) == pictures_in(chosen)
    assert f'value="{token[1]}"' in typed.content.decode()
    # Without the token (or with one unknown here) the picture is not shown.
    plain = client.post(url, form(name="Tea"))
    assert pictures_in(plain) != pictures_in(chosen)
    unknown = client.post(url, form(name="Tea", strip_image_token="A" * 24))
    assert pictures_in(unknown) == pictures_in(plain)
    assert "strip_image_token" not in unknown.content.decode()
    assert not Program.objects.exists()


def test_a_token_of_another_business_shows_nothing(
    client, owner, business, other_business, other_owner, drawings
):
    client.force_login(other_owner)
    other_url = reverse("dashboard:program_preview", args=[other_business.slug])
    theirs = client.post(
        other_url, form(logo_file=SimpleUploadedFile("l.png", png((300, 100))))
    ).content.decode()
    token = re.search(r'name="logo_token" value="([A-Za-z0-9_-]+)"', theirs)[1]
    client.force_login(owner)
    url = reverse("dashboard:program_preview", args=[business.slug])
    mine = client.post(url, form(logo_token=token)).content.decode()
    assert "preview-logo" not in mine
    assert "logo_token" not in mine
