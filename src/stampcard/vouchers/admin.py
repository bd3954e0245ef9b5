from django.contrib import admin

from stampcard.vouchers.models import (
    ClaimBatch,
    ClaimCode,
    ClaimedReceipt,
    CodePool,
    ReceiptKey,
    Voucher,
    VoucherTemplate,
)


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["title", "business", "status", "origin", "redemption_method", "created_at"]
    list_filter = ["status", "origin", "business"]
    search_fields = ["title", "code"]
    exclude = ["token"]
    readonly_fields = ["status", "redeemed_at", "redeemed_by_kind", "reward"]


@admin.register(VoucherTemplate)
class VoucherTemplateAdmin(admin.ModelAdmin):
    list_display = ["program", "redemption_method", "code_display", "code_pool", "validity"]
    list_filter = ["redemption_method", "validity"]


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


@admin.register(ReceiptKey)
class ReceiptKeyAdmin(admin.ModelAdmin):
    list_display = ["key_id", "business", "created_at", "revoked_at"]
    list_filter = ["business"]
    search_fields = ["key_id"]
    # The secret is the business's, shown to its owner once: not on operators' pages.
    exclude = ["secret"]
    readonly_fields = ["business", "key_id", "created_at"]

    def has_add_permission(self, request: object) -> bool:
        return False  # a key is made by create_receipt_key, which audits it


@admin.register(ClaimedReceipt)
class ClaimedReceiptAdmin(admin.ModelAdmin):
    list_display = ["receipt_id", "business", "key", "amount", "card", "claimed_at"]
    list_filter = ["business"]
    search_fields = ["receipt_id"]
    readonly_fields = ["business", "key", "receipt_id", "amount", "card", "claimed_at"]
