from django.contrib import admin

from stampcard.loyalty.models import Card, Customer, Milestone, Program, Reward, StampEvent


class MilestoneInline(admin.TabularInline):
    model = Milestone
    fields = ["stamps", "reward_kind", "reward_title", "reward_description", "translations"]
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "business", "status", "stamps_goal", "reward_kind", "stamp_rule"]
    list_filter = ["status", "reward_kind", "stamp_rule", "business"]
    inlines = [MilestoneInline]
    # A logo enters only through the designer, which checks and redraws it (stampcard.uploads).
    readonly_fields = ["logo", "stamp_image", "strip_image"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "business", "email", "phone", "created_at"]
    list_filter = ["business"]
    search_fields = ["name", "email", "phone"]


class ReadOnlyLedgerAdmin(admin.ModelAdmin):
    """Ledgers are written by services only; here they can be read."""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Card)
class CardAdmin(ReadOnlyLedgerAdmin):
    list_display = ["code", "customer", "program", "stamps", "cycles_completed", "updated_at"]
    list_filter = ["business"]
    search_fields = ["code"]
    exclude = ["token"]


@admin.register(StampEvent)
class StampEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["created_at", "card", "kind", "delta", "source", "actor_kind", "reason"]
    list_filter = ["kind", "source", "business"]


@admin.register(Reward)
class RewardAdmin(ReadOnlyLedgerAdmin):
    list_display = ["card", "cycle", "kind", "status", "created_at"]
    list_filter = ["kind", "status"]
