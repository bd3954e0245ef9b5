from django.db import migrations


def business_of_program(apps, schema_editor):
    VoucherTemplate = apps.get_model("vouchers", "VoucherTemplate")
    for template in VoucherTemplate.objects.filter(business__isnull=True).select_related(
        "program", "milestone"
    ):
        owner = template.program or template.milestone
        template.business_id = owner.business_id
        template.save(update_fields=["business"])


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0005_milestone_voucher_templates")]

    operations = [migrations.RunPython(business_of_program, migrations.RunPython.noop)]
