"""Copy each program's goal voucher settings into its VoucherTemplate, and each reward's
voucher link onto the voucher (Voucher.reward), before loyalty drops its own columns."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

SETTINGS = {
    "redemption_method": "voucher_redemption",
    "code_display": "voucher_code_display",
    "code_pool_id": "voucher_code_pool_id",
    "validity": "voucher_validity",
    "validity_amount": "voucher_validity_amount",
    "valid_until": "voucher_valid_until",
}


def forwards(apps, schema_editor):
    Program = apps.get_model("loyalty", "Program")
    Reward = apps.get_model("loyalty", "Reward")
    Voucher = apps.get_model("vouchers", "Voucher")
    VoucherTemplate = apps.get_model("vouchers", "VoucherTemplate")
    programs = Program._base_manager.values("pk", *SETTINGS.values()).iterator(chunk_size=2000)
    VoucherTemplate._base_manager.bulk_create(
        (
            VoucherTemplate(
                program_id=row["pk"], **{new: row[old] for new, old in SETTINGS.items()}
            )
            for row in programs
        ),
        batch_size=2000,
    )
    earned_by = Reward._base_manager.filter(voucher_id=OuterRef("pk")).values("pk")[:1]
    Voucher._base_manager.filter(origin="goal").update(reward_id=Subquery(earned_by))


def backwards(apps, schema_editor):
    Program = apps.get_model("loyalty", "Program")
    Reward = apps.get_model("loyalty", "Reward")
    Voucher = apps.get_model("vouchers", "Voucher")
    VoucherTemplate = apps.get_model("vouchers", "VoucherTemplate")
    for template in VoucherTemplate._base_manager.iterator(chunk_size=2000):
        Program._base_manager.filter(pk=template.program_id).update(
            **{old: getattr(template, new) for new, old in SETTINGS.items()}
        )
    issued = Voucher._base_manager.filter(reward_id=OuterRef("pk")).values("pk")[:1]
    Reward._base_manager.update(voucher_id=Subquery(issued))


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0002_initial"),
        ("vouchers", "0002_voucher_template_and_reward"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
