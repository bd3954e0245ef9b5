from django.contrib import admin

from stampcard.vouchers.models import ClaimBatch, ClaimCode, CodePool, Voucher


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["title", "business", "status", "origin", "redemption_method", "created_at"]
    list_filter = ["status", "origin", "business"]
    search_fields = ["title", "code"]
    exclude = ["token"]
    readonly_fields = ["status", "redeemed_at", "redeemed_by_kind"]


@admin.register(CodePool)
class CodePoolAdmin(admin.ModelAdmin):
    list_display = ["name", "business", "kind"]


@admin.register(ClaimBatch)
class ClaimBatchAdmin(admin.ModelAdmin):
    list_display = ["__str__", "program", "stamps_per_code", "expires_at", "created_at"]


@admin.register(ClaimCode)
class ClaimCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "batch", "claimed_at"]
    search_fields = ["code"]
    readonly_fields = ["claimed_at", "claimed_by"]
