"""Signed receipt codes: the POS's signature carries the receipt id and the amount spent."""

import base64
import hashlib
import hmac

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from stampcard.audit.models import AuditEntry
from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.amounts import BelowMinimumSpend
from stampcard.loyalty.models import Card, StampEvent
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device
from stampcard.vouchers import errors
from stampcard.vouchers.models import ClaimedReceipt, ReceiptKey
from stampcard.vouchers.receipts import (
    claim_receipt,
    create_receipt_key,
    parse_receipt_code,
    revoke_receipt_key,
    sign_receipt,
)
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel

BAHT = 100  # satang


@pytest.fixture
def thai_business(db):
    return factories.BusinessFactory(currency="THB")


@pytest.fixture
def by_amount(thai_business):
    """100 ฿ a stamp, rounded down, from a 50 ฿ spend; at most 5 a visit."""
    program = factories.ProgramFactory(
        business=thai_business,
        stamp_rule="amount",
        amount_per_stamp=100 * BAHT,
        amount_rounding="down",
        minimum_spend=50 * BAHT,
        max_stamps_per_visit=5,
    )
    return factories.CardFactory(program=program)


@pytest.fixture
def key(thai_business):
    return create_receipt_key(
        business=thai_business, actor=factories.member_actor(thai_business, role="manager")
    )


def customer(business):
    return Actor.customer(business_id=business.pk)


def claim(card, code, actor=None):
    business = card.business
    return claim_receipt(business=business, actor=actor or customer(business), code=code, card=card)


def written():
    return (
        StampEvent.objects.count(),
        ClaimedReceipt.objects.count(),
        OutboxMessage.objects.count(),
        AuditEntry.objects.filter(action="receipt.claimed").count(),
    )


def test_a_receipt_stamps_by_its_amount_and_records_it(by_amount, key):
    code = sign_receipt(business=by_amount.business, key=key, receipt_id="T1-0042", amount=35_050)
    outcome = claim(by_amount, code.lower())
    assert outcome.added == 3
    event = StampEvent.objects.get(card=by_amount)
    assert (event.source, event.delta, event.amount) == ("receipt", 3, 35_050)
    receipt = ClaimedReceipt.objects.get()
    assert (receipt.receipt_id, receipt.amount, receipt.card, receipt.key) == (
        "T1-0042",
        35_050,
        by_amount,
        key,
    )
    message = OutboxMessage.objects.get(topic="claim.claimed")
    assert message.payload["receipt_id"] == "T1-0042"
    assert AuditEntry.objects.filter(action="receipt.claimed").count() == 1


def test_on_a_per_visit_card_a_receipt_is_one_stamp_with_its_amount(thai_business, key):
    card = factories.CardFactory(program=factories.ProgramFactory(business=thai_business))
    code = sign_receipt(business=thai_business, key=key, receipt_id="A1", amount=99_000)
    assert claim(card, code).added == 1
    assert StampEvent.objects.get(card=card).amount == 99_000


def test_the_documented_example_verifies(db):
    """The worked example of the module's docstring, computed from its words alone."""
    message = b"stampcard-receipt-v1|42|K7M2QX|POS1-000123|35000|THB"
    digest = hmac.new(b"example-secret-do-not-use", message, hashlib.sha256).digest()
    signature = base64.b32encode(digest[:10]).decode()
    assert signature == "MWUD2XTN23COSSJU"
    code = f"R1.K7M2QX.POS1-000123.35000.{signature}"

    business = factories.BusinessFactory(pk=42, currency="THB")
    ReceiptKey.objects.create(
        business=business, key_id="K7M2QX", secret="example-secret-do-not-use"
    )
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    assert claim(card, code).added == 1
    assert StampEvent.objects.get(card=card).amount == 35_000


def tampered(code):
    """Each part of a valid code changed, one at a time."""
    _r1, key_id, receipt_id, amount, signature = code.split(".")
    other_key = "2" + key_id[1:] if key_id[0] != "2" else "3" + key_id[1:]
    flipped = "A" if signature[-1] != "A" else "B"
    return [
        f"R1.{key_id}.{receipt_id}.{int(amount) + 1}.{signature}",
        f"R1.{key_id}.{receipt_id}X.{amount}.{signature}",
        f"R1.{other_key}.{receipt_id}.{amount}.{signature}",
        f"R1.{key_id}.{receipt_id}.{amount}.{signature[:-1]}{flipped}",
        f"R2.{key_id}.{receipt_id}.{amount}.{signature}",
    ]


HOSTILE = [
    "",
    "R1",
    "R1....",
    "R1.\x00\x00\x00\x00\x00\x00.A.1.AAAAAAAAAAAAAAAA",
    "R1.ABCDEF.A\x00B.100.AAAAAAAAAAAAAAAA",
    "R1." + "A" * 10_000,
    "R1.ABCDEF.A.100.AAAAAAAAAAAAAAAA" + " " * 10_000,
    "R1.ABCDEF.ÄÖ.100.AAAAAAAAAAAAAAAA",
    "R1.ABCDEF.A.\u0661\u0660\u0660.AAAAAAAAAAAAAAAA",  # Arabic-Indic digits
    "R1.ABCDEF.A.0100.AAAAAAAAAAAAAAAA",
    "R1.ABCDEF.A.-100.AAAAAAAAAAAAAAAA",
    "R1.ABCDEF.A.99999999999999.AAAAAAAAAAAAAAAA",
    "R1.ABCDEF.A.100.AAAAAAAAAAAAAAAA\n",
    "R1.ABCDEF.A.B.100.AAAAAAAAAAAAAAAA",
]


def test_tampered_foreign_revoked_and_hostile_codes_are_not_found(by_amount, key, thai_business):
    valid = sign_receipt(business=thai_business, key=key, receipt_id="T1-7", amount=20_000)
    rival = factories.BusinessFactory(currency="THB")
    rival_key = create_receipt_key(business=rival, actor=Actor.system())
    foreign = sign_receipt(business=rival, key=rival_key, receipt_id="T1-7", amount=20_000)
    # The rival's key id and secret, copied into this business: the business id is signed.
    ReceiptKey.objects.create(
        business=thai_business, key_id=rival_key.key_id, secret=rival_key.secret
    )
    old = create_receipt_key(business=thai_business, actor=Actor.system())
    revoked = sign_receipt(business=thai_business, key=old, receipt_id="T1-8", amount=20_000)
    revoke_receipt_key(business=thai_business, actor=Actor.system(), key=old)
    before = written()
    for code in [*tampered(valid), revoked, *HOSTILE]:
        with pytest.raises(errors.ClaimCodeNotFound) as refused:
            claim(by_amount, code)
        assert refused.value.message == errors.ClaimCodeNotFound().message, repr(code)
    # A real receipt of the rival, signed with its own key: the customer is told whose it is.
    with pytest.raises(errors.ClaimCodeOtherBusiness):
        claim(by_amount, foreign)
    assert written() == before
    assert claim(by_amount, valid).added == 2  # the untampered code still works


def test_the_currency_is_signed(by_amount, key, thai_business):
    code = sign_receipt(business=thai_business, key=key, receipt_id="C1", amount=20_000)
    type(thai_business).objects.filter(pk=thai_business.pk).update(currency="USD")
    by_amount.business.refresh_from_db()
    with pytest.raises(errors.ClaimCodeNotFound):
        claim(by_amount, code)


def test_a_receipt_is_claimed_once(by_amount, key, thai_business):
    code = sign_receipt(business=thai_business, key=key, receipt_id="T1-9", amount=20_000)
    claim(by_amount, code)
    other_card = factories.CardFactory(program=by_amount.program)
    before = written()
    with pytest.raises(errors.ClaimCodeUsed):
        claim(other_card, code)
    # Signed with a newer key, the same receipt is still the same receipt.
    newer = create_receipt_key(business=thai_business, actor=Actor.system())
    with pytest.raises(errors.ClaimCodeUsed):
        claim(
            by_amount, sign_receipt(business=thai_business, key=newer, receipt_id="T1-9", amount=1)
        )
    assert written() == before


def test_a_refused_stamp_leaves_the_receipt_claimable(by_amount, key, thai_business):
    small = sign_receipt(business=thai_business, key=key, receipt_id="S1", amount=10 * BAHT)
    with pytest.raises(BelowMinimumSpend):
        claim(by_amount, small)
    code = sign_receipt(business=thai_business, key=key, receipt_id="S2", amount=200 * BAHT)
    by_amount.program.status = "archived"
    by_amount.program.save()
    before = written()
    with pytest.raises(loyalty_errors.ProgramInactive):
        claim(by_amount, code)
    assert written() == before
    by_amount.program.status = "active"
    by_amount.program.save()
    assert claim(by_amount, code).added == 2


def test_a_card_of_another_business_is_not_stamped(by_amount, key, thai_business):
    code = sign_receipt(business=thai_business, key=key, receipt_id="X1", amount=20_000)
    foreign_card = factories.CardFactory()
    before = written()
    with pytest.raises(loyalty_errors.CardNotFound):
        claim_receipt(business=thai_business, actor=Actor.system(), code=code, card=foreign_card)
    assert written() == before


def device(business, kind):
    made = Device.objects.create(business=business, name=kind, kind=kind, token_hash=f"{kind}-hash")
    return Actor.for_device(made)


def test_who_may_claim_and_who_may_make_keys(by_amount, key, thai_business):
    code = sign_receipt(business=thai_business, key=key, receipt_id="P1", amount=20_000)
    rival = factories.BusinessFactory()
    before = written()
    for refused in (device(thai_business, "autopilot"), Actor.customer(business_id=rival.pk)):
        with pytest.raises(NotAllowed):
            claim(by_amount, code, actor=refused)
    assert written() == before
    for refused in (
        factories.member_actor(thai_business, role="staff"),
        device(thai_business, "scanner"),
        customer(thai_business),
    ):
        with pytest.raises(NotAllowed):
            create_receipt_key(business=thai_business, actor=refused)
        with pytest.raises(NotAllowed):
            revoke_receipt_key(business=thai_business, actor=refused, key=key)
    assert ReceiptKey.objects.filter(revoked_at__isnull=True).count() == 1
    assert claim(by_amount, code, actor=device(thai_business, "kiosk")).added == 2


def test_keys_rotate_and_their_secret_stays_out_of_the_audit(thai_business, key):
    second = create_receipt_key(business=thai_business, actor=Actor.system())
    assert second.key_id != key.key_id
    assert len(key.secret) >= 40
    assert key.secret not in repr(key) + str(key)
    for entry in AuditEntry.objects.filter(action="receipt_key.created"):
        assert key.secret not in str(entry.details)
        assert second.secret not in str(entry.details)
    assert (
        parse_receipt_code(
            sign_receipt(business=thai_business, key=second, receipt_id="Z", amount=0)
        )
        is not None
    )


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_50_parallel_claims_of_one_receipt_stamp_once():
    business = factories.BusinessFactory(currency="THB")
    program = factories.ProgramFactory(
        business=business, stamp_rule="amount", amount_per_stamp=100 * BAHT, max_stamps_per_visit=5
    )
    key = create_receipt_key(business=business, actor=Actor.system())
    code = sign_receipt(business=business, key=key, receipt_id="RACE-1", amount=300 * BAHT)
    cards = [factories.CardFactory(program=program) for _ in range(10)]

    results = run_in_parallel(
        lambda i: claim_receipt(
            business=business, actor=Actor.system(), code=code, card=cards[i % 10]
        ),
        50,
    )

    refusals = [r for r in results if isinstance(r, BaseException)]
    assert len(refusals) == 49
    assert {getattr(r, "code", repr(r)) for r in refusals} == {"already_used"}
    assert StampEvent.objects.filter(card__program=program).count() == 1
    assert sum(Card.objects.filter(program=program).values_list("stamps", flat=True)) == 3
    assert ClaimedReceipt.objects.filter(business=business).count() == 1


def test_operators_see_keys_and_receipts_but_never_a_secret(client, by_amount, key):
    claim(by_amount, sign_receipt(business=key.business, key=key, receipt_id="AD1", amount=20_000))
    operator = get_user_model().objects.create_superuser("operator", password="pw-operator-1")
    client.force_login(operator)
    for model, pk in ((ReceiptKey, key.pk), (ClaimedReceipt, ClaimedReceipt.objects.get().pk)):
        name = model._meta.model_name
        for page in (
            reverse(f"admin:vouchers_{name}_changelist"),
            reverse(f"admin:vouchers_{name}_change", args=[pk]),
        ):
            response = client.get(page)
            assert response.status_code == 200, page
            assert key.secret not in response.content.decode()
