import factory
from django.contrib.auth import get_user_model

from stampcard import tokens
from stampcard.loyalty.card_codes import new_card_code
from stampcard.loyalty.models import Card, Customer, Milestone, Program
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business, Location, Membership


class BusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Business

    name = factory.Sequence(lambda n: f"Business {n}")
    slug = factory.Sequence(lambda n: f"business-{n}")
    time_zone = "Asia/Bangkok"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership
        skip_postgeneration_save = True

    business = factory.SubFactory(BusinessFactory)
    user = factory.SubFactory(UserFactory)
    role = "staff"

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    business = factory.SubFactory(BusinessFactory)
    name = factory.Sequence(lambda n: f"Shop {n}")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    business = factory.SubFactory(BusinessFactory)
    name = "Coffee card"
    status = "active"
    stamps_goal = 10
    reward_title = "Free coffee"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    business = factory.SubFactory(BusinessFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    program = factory.SubFactory(ProgramFactory)
    business = factory.SelfAttribute("program.business")
    customer = factory.SubFactory(CustomerFactory, business=factory.SelfAttribute("..business"))
    token = factory.LazyFunction(tokens.new_secret)
    code = factory.LazyFunction(new_card_code)


def member_actor(business, role="owner", locations=()):
    """An actor as the dashboard door builds it, for a new member with this role."""
    membership = MembershipFactory(business=business, role=role, locations=list(locations))
    return Actor.for_member(membership)


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    program = factory.SubFactory(ProgramFactory)
    business = factory.SelfAttribute("program.business")
    stamps = 5
    reward_title = factory.Sequence(lambda n: f"Milestone treat {n}")
