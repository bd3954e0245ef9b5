"""Customers' e-mail addresses kept before the domain had one form are put in it.

``clean_email`` (``loyalty.services.contacts``) now folds an address's domain as mail
systems read it (UTS #46: case, full-width letters, decomposed accents, ignored characters)
and lower-cases it; addresses kept before that would not match the same address typed now,
so a returning customer would look new. Each existing address is folded the same way, by the
same function.

Two customers of one business whose addresses fold to one (say "ann@EXAMPLE.org" and
"ann@example.org", kept before) are never merged here: they may be two people, and their
cards, stamps and history stay apart. Customers are taken in id order: the earlier one gets the
folded address, and a later one whose address folds to one another customer holds keeps theirs
as it was, unnormalised, for staff to look at (a new sign-up with that address then meets the
customer who holds the folded one). An address that cannot be folded (one the join page would
refuse now) is left as it is too.
"""

from django.db import migrations

from stampcard.loyalty import errors
from stampcard.loyalty.services.contacts import clean_email


def normalise(apps, schema_editor):
    Customer = apps.get_model("loyalty", "Customer")
    customers = Customer._base_manager.exclude(email="").order_by("pk")
    for customer in customers.only("pk", "business_id", "email").iterator():
        try:
            folded = clean_email(customer.email)
        except errors.InvalidCustomer:
            continue
        if folded == customer.email:
            continue
        taken = (
            Customer._base_manager.filter(business_id=customer.business_id, email=folded)
            .exclude(pk=customer.pk)
            .exists()
        )
        if taken:  # another customer has it already: two people are never merged
            continue
        Customer._base_manager.filter(pk=customer.pk).update(email=folded)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0014_reward_earned_by")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
