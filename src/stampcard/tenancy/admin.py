from django.contrib import admin

from stampcard.tenancy.models import Business, Device, Location, Membership


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
