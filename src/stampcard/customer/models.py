"""One-time ways back to a card: e-mailed to a customer who proves they own its address, or
handed over at the counter by staff who recognised the customer in person."""

from django.conf import settings
from django.db import models
from django_scopes import ScopedManager

from stampcard.loyalty.models import Card, Customer, Program
from stampcard.tenancy.models import Business, Device


class ReturnLink(models.Model):
    """A link (and a short code) e-mailed to a known customer, opening their card once.

    Only hashes are kept: of the link's token, of the ticket the answer page carries (which
    the code is typed against) and of the code itself (keyed by ``SECRET_KEY``).
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    # The program whose join page asked: the link opens the customer's card in it.
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    ticket_hash = models.CharField(max_length=64, unique=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # Wrong codes typed against this link's ticket.
    attempts = models.PositiveSmallIntegerField(default=0)
    # A claim code or receipt code the customer was claiming when asked to prove the address:
    # claimed onto the card once the link (or code) opens it (``customer.claims``).
    then_claim = models.CharField(max_length=96, blank=True, default="")

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [models.Index(fields=["customer", "created_at"])]

    def __str__(self) -> str:
        return f"return link {self.pk} of customer {self.customer_id}"


class HandOverLink(models.Model):
    """A link staff show as a QR at the counter, opening a customer's card once on the
    customer's own phone (``customer.hand_over``).

    Short-lived and single-use, so the QR left on a screen opens nothing later. Only the
    hash of its token is kept.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="+")
    # Who showed it: a member (the link dies with their right to see customers' details).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"hand-over link {self.pk} of card {self.card_id}"


class JoinAttempt(models.Model):
    """One sending of one join form, so that sending it again never makes a second card.

    The join page renders a fresh one-time token into its form; a double tap or a resent form
    posts the same token again and is answered with what the first sending did (its card, or
    the "check your e-mail" page without a second e-mail). Only a keyed hash of the token and
    of the browser's own join cookie is kept (``customer.join_tokens``), so a token copied to
    another browser opens nothing. The unique key makes two parallel sendings one: the second
    waits for the first's transaction and then finds its card.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    # The card the sending made; empty when it found a known person and e-mailed them instead.
    card = models.ForeignKey(Card, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"join attempt {self.pk} in program {self.program_id}"
