from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from stampcard.outbox import dispatch
from stampcard.outbox.models import OutboxMessage, Receipt


class ReceiptInline(admin.TabularInline):
    model = Receipt
    extra = 0
    can_delete = False
    readonly_fields = ["consumer", "applied_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Operators see what is pending, failing or dead, and put dead messages back in line."""

    list_display = [
        "id",
        "topic",
        "business",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "topic"]
    search_fields = ["=id", "last_error"]
    list_select_related = ["business"]
    ordering = ["-id"]
    show_full_result_count = False
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    inlines = [ReceiptInline]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Deliver again now"))
    def replay(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = dispatch.replay(list(queryset.values_list("id", flat=True)))
        self.message_user(
            request,
            ngettext("%(n)d message put back in line.", "%(n)d messages put back in line.", count)
            % {"n": count},
            messages.SUCCESS,
        )
