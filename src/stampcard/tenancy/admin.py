from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from stampcard.tenancy.models import Business, Device, Invitation, Location, Membership


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "currency", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "business", "address"]
    list_filter = ["business"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "business", "role"]
    list_filter = ["role", "business"]
    raw_id_fields = ["user"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    # Tokens are created by pairing (shown once); the admin only shows and revokes.
    list_display = ["name", "business", "kind", "location", "created_at", "revoked_at"]
    list_filter = ["kind", "business"]
    readonly_fields = ["token_hash", "created_at", "last_seen_at"]

    def has_add_permission(self, request: object) -> bool:
        return False


# Everything an invitation holds but the hash of its link's token.
INVITATION_FIELDS = (
    "business",
    "email",
    "role",
    "locations",
    "limited",
    "invited_by",
    "created_at",
    "sent_at",
    "expires_at",
    "accepted_at",
    "accepted_by",
    "cancelled_at",
)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations to join a team, to look at: who was invited where, by whom, and what became
    of it. Made, resent and cancelled on the dashboard's Team page only (``tenancy.team``);
    the link's token hash is never shown."""

    list_display = [
        "email",
        "business",
        "role",
        "invited_by",
        "sent_at",
        "expires_at",
        "accepted_at",
        "cancelled_at",
    ]
    list_filter = ["role", "business"]
    search_fields = ["email", "business__name"]
    list_select_related = ["business", "invited_by"]
    fields = INVITATION_FIELDS
    readonly_fields = INVITATION_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
