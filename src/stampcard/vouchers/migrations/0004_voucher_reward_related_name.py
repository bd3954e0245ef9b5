import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0003_goal_voucher_settings_moved"),
        ("vouchers", "0003_move_goal_voucher_settings"),
    ]

    operations = [
        # Loyalty's Reward.voucher column is gone: the link now answers to reward.voucher.
        migrations.AlterField(
            model_name="voucher",
            name="reward",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="voucher",
                to="loyalty.reward",
            ),
        ),
    ]
