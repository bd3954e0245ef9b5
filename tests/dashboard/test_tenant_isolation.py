"""Walks every URL the project defines: each role gets its answer, nobody reaches another business.

Every business page has an expected answer per person (see ``tests/conftest.py``): ``alice``
the owner, ``maria`` a manager, ``bob`` at the counter, ``charlie`` of another business, and
someone not logged in. A page added without its line in ``EXPECTED`` fails the walk.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from stampcard.loyalty.card_codes import format_card_code
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.uploads import clean_image
from stampcard.vouchers.claims import create_claim_batch
from stampcard.vouchers.models import CodePool, VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories

ALLOWED, REFUSED, NOT_FOUND, LOG_IN = 200, 403, 404, 302
EVERY_MEMBER = {"alice": ALLOWED, "maria": ALLOWED, "bob": ALLOWED}
OUTSIDERS = {"charlie": NOT_FOUND, "anonymous": LOG_IN}
DESIGNERS = {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED}
POST_ONLY = 405
MANAGERS = {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED}
EXPECTED = {
    "dashboard:business": EVERY_MEMBER | OUTSIDERS,
    "dashboard:program": EVERY_MEMBER | OUTSIDERS,
    "dashboard:card": EVERY_MEMBER | OUTSIDERS,
    "dashboard:voucher": EVERY_MEMBER | OUTSIDERS,
    "dashboard:audit": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:scanner": EVERY_MEMBER | OUTSIDERS,
    "dashboard:scanner_cards": EVERY_MEMBER | OUTSIDERS,
    # POST makes a one-time link to the card; GET makes nothing.
    "dashboard:scanner_hand_over": {"alice": POST_ONLY, "maria": POST_ONLY, "bob": REFUSED}
    | OUTSIDERS,
    "dashboard:devices": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    # Onboarding, the program designer and the printables.
    "dashboard:start_location": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:start_done": DESIGNERS | OUTSIDERS,
    "dashboard:program_new": DESIGNERS | OUTSIDERS,
    "dashboard:program_edit": DESIGNERS | OUTSIDERS,
    "dashboard:program_preview": DESIGNERS | OUTSIDERS,
    "dashboard:program_status": {"alice": POST_ONLY, "maria": POST_ONLY, "bob": REFUSED}
    | OUTSIDERS,
    "dashboard:program_print": DESIGNERS | OUTSIDERS,
    "dashboard:program_printable": DESIGNERS | OUTSIDERS,
    "dashboard:customers": EVERY_MEMBER | OUTSIDERS,
    "dashboard:customer": EVERY_MEMBER | OUTSIDERS,
    "dashboard:customer_correct": MANAGERS | OUTSIDERS,
    "dashboard:customer_erase": MANAGERS | OUTSIDERS,
    "dashboard:customers_export": MANAGERS | OUTSIDERS,
    "dashboard:customers_import": MANAGERS | OUTSIDERS,
    "dashboard:vouchers": EVERY_MEMBER | OUTSIDERS,
    "dashboard:voucher_issue": MANAGERS | OUTSIDERS,
    "dashboard:voucher_customers": MANAGERS | OUTSIDERS,
    "dashboard:voucher_image": EVERY_MEMBER | OUTSIDERS,
    "dashboard:voucher_printable": EVERY_MEMBER | OUTSIDERS,
    "dashboard:voucher_void": MANAGERS | OUTSIDERS,
    "dashboard:analytics": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:analytics_csv": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:export": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:import": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:claim_batches": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:claim_sheet": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:claim_csv": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:receipt_keys": {"alice": ALLOWED, "maria": ALLOWED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:redeem_codes": MANAGERS | OUTSIDERS,
    "dashboard:redeem_codes_csv": MANAGERS | OUTSIDERS,
    "dashboard:locations": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:business_settings": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:location_edit": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:team": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
    "dashboard:team_member": {"alice": ALLOWED, "maria": REFUSED, "bob": REFUSED} | OUTSIDERS,
}
# URL parts that name no object of a business: the same value for everyone.
NOT_OBJECTS = {"chart": "stamps"}


# A voucher's picture, so that its image URL has something to serve.
SMALL_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


def claim_batch_of(business, program):
    batch = create_claim_batch(
        business=business, actor=factories.member_actor(business), program=program, count=1
    )
    return batch.pk


def all_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from all_patterns(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, f"{namespace}{entry.name}"


def tenant_urls():
    return [(route, p) for route, p, _ in all_patterns() if "<slug:business_slug>" in route]


def tenant_url_names():
    return [(route, name) for route, _, name in all_patterns() if "<slug:business_slug>" in route]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def foreign_objects(other_business, media):
    """One object of each kind that a URL can name, all belonging to the other business."""
    program = factories.ProgramFactory(business=other_business, name="Secret recipe card")
    card = factories.CardFactory(program=program)
    voucher = issue_voucher(
        business=other_business,
        actor=Actor(kind=ActorKind.ADMIN),
        title="Secret",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
        card=card,
        image=clean_image(SMALL_PNG),
    )
    return {
        "program_id": card.program_id,
        "card_code": card.code,
        "voucher_id": voucher.pk,
        "customer_id": card.customer_id,
        "batch_id": claim_batch_of(other_business, program),
        "pool_id": CodePool.objects.create(
            business=other_business, name="Secret pool", kind="imported"
        ).pk,
        "location_id": factories.LocationFactory(business=other_business, name="Secret").pk,
        "member_id": factories.MembershipFactory(business=other_business, role="staff").pk,
    }


def fill(route, values):
    url = "/" + route.lstrip("^").rstrip("$")
    for name, value in {**NOT_OBJECTS, **values}.items():
        for converter in ("slug", "int", "str", "path"):
            url = url.replace(f"<{converter}:{name}>", str(value))
    assert "<" not in url, f"a URL names an object this test does not know: {url}"
    return url


def test_the_walk_covers_the_business_pages():
    assert len(tenant_urls()) >= 5


def test_every_business_page_has_an_expected_answer_per_person():
    assert {name for _, name in tenant_url_names()} == set(EXPECTED)
    for name, answers in EXPECTED.items():
        assert set(answers) == {"alice", "maria", "bob", "charlie", "anonymous"}, name


@pytest.mark.parametrize(("route", "pattern"), tenant_urls(), ids=lambda v: str(v))
def test_every_business_page_states_its_permission(route, pattern):
    assert getattr(pattern.callback, "required_permission", None) is not None, route


@pytest.fixture
def own_objects(business, shop, staff_actor, media):
    """One object of each kind that a URL can name, all Corner Cafe's."""
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    voucher = issue_voucher(
        business=business,
        actor=staff_actor,
        title="Cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
        card=card,
        image=clean_image(SMALL_PNG),
    )
    return {
        "program_id": card.program_id,
        "card_code": card.code,
        "voucher_id": voucher.pk,
        "customer_id": card.customer_id,
        "batch_id": claim_batch_of(business, card.program),
        "pool_id": CodePool.objects.create(business=business, name="Till", kind="imported").pk,
        "location_id": shop.pk,
        "member_id": factories.MembershipFactory(business=business, role="staff").pk,
    }


@pytest.fixture
def people(alice, maria, bob, charlie):
    return {"alice": alice, "maria": maria, "bob": bob, "charlie": charlie, "anonymous": None}


@pytest.mark.parametrize(("route", "name"), tenant_url_names(), ids=lambda v: str(v))
@pytest.mark.parametrize("person", ["alice", "maria", "bob", "charlie", "anonymous"])
def test_each_person_gets_the_expected_answer(
    client, business, people, own_objects, route, name, person
):
    if people[person] is not None:
        client.force_login(people[person])
    response = client.get(fill(route, {"business_slug": business.slug, **own_objects}))
    assert response.status_code == EXPECTED[name][person]


@pytest.mark.parametrize(("route", "pattern"), tenant_urls(), ids=lambda v: str(v))
def test_member_of_a_cannot_reach_b(
    client, owner, business, other_business, foreign_objects, route, pattern
):
    client.force_login(owner)
    code = foreign_objects["card_code"]
    secrets = [b"Secret", code.encode(), format_card_code(code).encode()]
    # B's slug: A's member is no member there.
    response = client.get(fill(route, {"business_slug": other_business.slug, **foreign_objects}))
    assert response.status_code == 404
    # B's objects addressed under A's own slug: the scope hides them.
    response = client.get(fill(route, {"business_slug": business.slug, **foreign_objects}))
    names_an_object = any(name in route for name in foreign_objects)
    assert response.status_code == (404 if names_an_object else 200)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert not any(secret in content for secret in secrets)


@pytest.mark.parametrize(("route", "pattern"), tenant_urls(), ids=lambda v: str(v))
def test_stranger_is_sent_to_log_in(client, stranger, business, route, pattern):
    url = fill(
        route,
        {
            "business_slug": business.slug,
            "program_id": 1,
            "card_code": "X",
            "voucher_id": 1,
            "customer_id": 1,
            "batch_id": 1,
            "pool_id": 1,
            "location_id": 1,
            "member_id": 1,
        },
    )
    assert client.get(url).status_code == 302  # anonymous: log in first
    client.force_login(stranger)
    assert client.get(url).status_code == 404


def test_admin_is_for_platform_operators_only(client, owner):
    client.force_login(owner)
    response = client.get("/admin/loyalty/card/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
