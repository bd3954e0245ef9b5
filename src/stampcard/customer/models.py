"""One-time ways back to a card for a customer who proves they own its e-mail address."""

from django.db import models
from django_scopes import ScopedManager

from stampcard.loyalty.models import Customer, Program
from stampcard.tenancy.models import Business


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
