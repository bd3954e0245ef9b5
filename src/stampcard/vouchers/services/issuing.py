"""Issuing vouchers: by hand from the dashboard, or as the reward a card earns at its goal."""

from datetime import datetime

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stampcard import tokens
from stampcard.audit.services import record
from stampcard.loyalty.models import Card, Milestone, Program, Reward, RewardStatus
from stampcard.loyalty.rewards import EarnedReward
from stampcard.outbox.models import Topic
from stampcard.outbox.services import publish
from stampcard.refusals import Refusal
from stampcard.storable import UNSTORABLE_TEXT, is_storable
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require
from stampcard.uploads import CleanImage
from stampcard.vouchers import errors
from stampcard.vouchers.models import (
    CodeDisplay,
    CodePool,
    CodePoolKind,
    PoolCode,
    RedemptionMethod,
    Voucher,
    VoucherOrigin,
    VoucherTemplate,
)
from stampcard.vouchers.redeem_codes import POOL_CODE_PATTERN, new_code
from stampcard.vouchers.validity import ValidityRule


def issue_voucher(
    *,
    business: Business,
    actor: Actor,
    title: str,
    origin: VoucherOrigin,
    redemption_method: RedemptionMethod,
    description: str = "",
    card: Card | None = None,
    program: Program | None = None,
    code: str = "",
    code_pool: CodePool | None = None,
    code_display: CodeDisplay = CodeDisplay.QR,
    validity: ValidityRule | None = None,
    image: CleanImage | None = None,
    now: datetime | None = None,
) -> Voucher:
    """Issue one voucher, bound to ``card`` or free-standing (printable) when there is none.

    The redeem code is the one given, or drawn from ``code_pool`` (one pooled code per
    voucher, never handed out twice). ``image`` is a picture already made safe by
    ``stampcard.uploads.clean_image``. Refuses an empty title, text that cannot be stored,
    a card, program or pool this business does not have, and a validity that has already
    ended. Needs ISSUE_VOUCHERS. Audited when a person issues it.
    """
    require(actor, Permission.ISSUE_VOUCHERS, business=business)
    if not is_storable(title, description, code):
        raise errors.InvalidVoucher(UNSTORABLE_TEXT)
    # The door's scope makes the objects a caller fetched this business's; these queries by
    # the business keep a foreign one out whoever calls, and write nothing.
    for model, given in ((Card, card), (Program, program), (CodePool, code_pool)):
        if given is not None and not _of_business(model, business, given.pk):
            raise errors.VoucherNotFound()
    return _issue(
        business=business,
        actor=actor,
        title=title,
        origin=origin,
        redemption_method=redemption_method,
        description=description,
        card_id=card.pk if card is not None else None,
        program_id=program.pk if program is not None else None,
        reward_id=None,
        code=code,
        code_pool=code_pool,
        code_display=code_display,
        validity=validity or ValidityRule(),
        image=image,
        now=now or timezone.now(),
    )


# A free voucher's code is read off paper and typed into a till: long enough that nobody
# guesses another one, short enough to type.
FREE_CODE_LENGTH = 10


def issue_manual_voucher(
    *,
    business: Business,
    actor: Actor,
    title: str,
    description: str = "",
    card: Card | None = None,
    with_code: bool = False,
    image: CleanImage | None = None,
    validity: ValidityRule | None = None,
) -> Voucher:
    """Issue Voucher from the dashboard: a one-time voucher outside the stamp mechanic.

    With a ``card`` the voucher is the customer's (their wallet and web card show it) and is
    scanned by staff, or, ``with_code``, redeemed with a code. Without a card it is a free
    voucher for whoever holds it, printed or downloaded: it always carries a redeem code,
    new and unique in the business, shown as text, QR code and Code 128. Guarantees and
    refusals are ``issue_voucher``'s.
    """
    with_code = with_code or card is None
    return issue_voucher(
        business=business,
        actor=actor,
        title=title,
        description=description,
        origin=VoucherOrigin.MANUAL,
        redemption_method=(
            RedemptionMethod.REDEEM_CODE if with_code else RedemptionMethod.STAFF_SCAN
        ),
        card=card,
        program=card.program if card is not None else None,
        code=_unused_code(business) if with_code else "",
        code_display=CodeDisplay.QR,
        validity=validity,
        image=image,
    )


def _unused_code(business: Business) -> str:
    for _attempt in range(5):
        code = new_code(FREE_CODE_LENGTH)
        if not Voucher.objects.filter(business=business, code=code).exists():
            return code
    raise errors.InvalidVoucher(_("No free redeem code was found. Try again."))


def _of_business(
    model: type[Card] | type[Program] | type[CodePool], business: Business, pk: int
) -> bool:
    return model.objects.filter(business=business, pk=pk).exists()


def issue_goal_voucher(earned: EarnedReward) -> RewardStatus:
    """The Smart Voucher a card earns at its goal or a milestone, as that reward's template says.

    Registered as the Smart Voucher's reward issuer (see ``VouchersConfig.ready``). A voucher
    that cannot be issued now (a validity date passed, an imported pool ran dry) leaves the
    reward pending and an audit entry saying why: the customer earned it, so the stamp stands.
    The voucher is titled in the card's customer's language (``Program.text_in`` for the
    goal's, ``Milestone.text_in`` for a milestone's), else in the default language.
    """
    program = Program.objects.filter(business=earned.business, pk=earned.program_id).get()
    templates = VoucherTemplate.objects.select_related("code_pool")
    language = (
        Card.objects.filter(business=earned.business, pk=earned.card_id)
        .values_list("customer__language", flat=True)
        .get()
    )
    if earned.milestone_id is None:
        template = templates.filter(program=program).first()
        title = program.text_in("reward_title", language)
        description = program.text_in("reward_description", language)
    else:
        milestone = Milestone.objects.filter(program=program, pk=earned.milestone_id).get()
        template = templates.filter(milestone=milestone).first()
        title = milestone.text_in("reward_title", language)
        description = milestone.text_in("reward_description", language)
    template = template or VoucherTemplate()
    try:
        _issue(
            business=earned.business,
            actor=Actor.system(),
            title=title,
            description=description,
            origin=VoucherOrigin.GOAL,
            redemption_method=RedemptionMethod(template.redemption_method),
            card_id=earned.card_id,
            program_id=program.pk,
            reward_id=earned.reward_id,
            code="",
            code_pool=template.code_pool,
            code_display=CodeDisplay(template.code_display),
            validity=template.validity_rule,
            image=None,
            now=earned.now,
        )
    except Refusal as refusal:
        record(
            business=earned.business,
            actor=Actor.system(),
            action="reward.voucher_not_issued",
            reason=refusal.code,
            card=earned.card_code,
        )
        return RewardStatus.VOUCHER_PENDING
    return RewardStatus.VOUCHER_ISSUED


def waiting_for(pool: CodePool) -> Q:
    """The Smart Voucher rewards that wait for a code of ``pool``: earned while it was dry."""
    return Q(status=RewardStatus.VOUCHER_PENDING) & (
        Q(milestone__isnull=True, card__program__voucher_template__code_pool=pool)
        | Q(milestone__voucher_template__code_pool=pool)
    )


# Issued with the codes that filled the pool, in the same transaction: enough for a day's
# rewards of a busy business; the rest follow with the next codes added.
MAX_WAITING_ISSUED = 500


def issue_waiting_vouchers(*, business: Business, pool: CodePool) -> int:
    """Issue the vouchers of rewards that waited for ``pool`` to be filled, oldest first.

    Called in the transaction that added codes (``code_pools``); returns how many were
    issued. Stops at the first that cannot be issued (the pool is dry again, or that
    reward's settings refuse it, which ``issue_goal_voucher`` audits). A waiting reward is
    locked, so two fillings at once never issue one twice.
    """
    waiting = (
        Reward.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(waiting_for(pool), business=business)
        .select_related("card")
        .order_by("id")[:MAX_WAITING_ISSUED]
    )
    issued = 0
    for reward in waiting:
        status = issue_goal_voucher(
            EarnedReward(
                business=business,
                reward_id=reward.pk,
                card_id=reward.card_id,
                card_code=reward.card.code,
                program_id=reward.card.program_id,
                milestone_id=reward.milestone_id,
                now=timezone.now(),
            )
        )
        if status != RewardStatus.VOUCHER_ISSUED:
            break
        Reward.objects.filter(pk=reward.pk).update(status=status)
        issued += 1
    return issued


def _issue(
    *,
    business: Business,
    actor: Actor,
    title: str,
    origin: VoucherOrigin,
    redemption_method: str,
    description: str,
    card_id: int | None,
    program_id: int | None,
    reward_id: int | None,
    code: str,
    code_pool: CodePool | None,
    code_display: str,
    validity: ValidityRule,
    image: CleanImage | None,
    now: datetime,
) -> Voucher:
    title = title.strip()
    if not title:
        raise errors.InvalidVoucher(_("Give the voucher a title."))
    if len(title) > Voucher._meta.get_field("title").max_length:  # type: ignore[operator]
        raise errors.InvalidVoucher(_("The title is too long."))
    if redemption_method not in RedemptionMethod.values:
        raise errors.InvalidVoucher(_("Choose how the voucher is redeemed."))
    if code_display not in CodeDisplay.values:
        raise errors.InvalidVoucher(_("Choose how the code is shown."))
    code = code.strip()
    if code and not POOL_CODE_PATTERN.match(code):
        raise errors.InvalidVoucher(_("A redeem code uses only letters, digits, - and _."))
    valid_until = validity.valid_until(start=now, time_zone=business.time_zone)
    with transaction.atomic():
        voucher = Voucher.objects.create(
            business=business,
            card_id=card_id,
            program_id=program_id,
            reward_id=reward_id,
            token=tokens.new_secret(24),
            title=title,
            description=description.strip(),
            redemption_method=redemption_method,
            code=code,
            code_display=code_display,
            valid_from=now,
            valid_until=valid_until,
            origin=origin,
        )
        if image is not None:
            # A new random name: nothing of the uploader's file name or the voucher's secret.
            name = f"{tokens.new_secret(12)}.{image.extension}"
            voucher.image.save(name, ContentFile(image.data), save=False)
            voucher.save(update_fields=["image"])
        if code_pool is not None and not code:
            voucher.code = _draw_pool_code(business=business, pool=code_pool, voucher=voucher)
            voucher.save(update_fields=["code"])
        publish(
            business_id=business.pk,
            topic=Topic.VOUCHER_ISSUED,
            voucher_id=voucher.pk,
            card_id=voucher.card_id,
        )
        if actor.kind != ActorKind.SYSTEM:
            record(business=business, actor=actor, action="voucher.issued", target=voucher)
    return voucher


def _draw_pool_code(*, business: Business, pool: CodePool, voucher: Voucher) -> str:
    """Hand one code of ``pool`` to ``voucher``; a pooled code goes to one voucher only."""
    if pool.kind == CodePoolKind.STATIC:
        return pool.static_code
    free_codes = PoolCode.objects.filter(pool=pool, voucher__isnull=True)
    for _attempt in range(3):
        # SKIP LOCKED lets parallel issues take different free codes instead of queueing.
        free = free_codes.select_for_update(skip_locked=True).order_by("id").first()
        if free is not None:
            free.voucher = voucher
            free.save(update_fields=["voucher"])
            return free.code
        # A row taken by a parallel issue that committed in between can make the locking
        # read come back empty; only a pool with no free code left is exhausted.
        if not free_codes.exists():
            break
    if pool.kind == CodePoolKind.IMPORTED:
        raise errors.PoolExhausted(pool=pool.name)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return PoolCode.objects.create(
                    business=business, pool=pool, code=new_code(pool.code_length), voucher=voucher
                ).code
        except IntegrityError:
            continue
    raise errors.PoolExhausted(pool=pool.name)
