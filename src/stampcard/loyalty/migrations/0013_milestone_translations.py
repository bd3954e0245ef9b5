from django.db import migrations, models


class Migration(migrations.Migration):
    """A milestone's reward texts in the business's other languages.

    The stored titles and descriptions stay where they are, as the default language's texts;
    every milestone starts with no translation and so reads as before."""

    dependencies = [("loyalty", "0012_program_card_barcode")]

    operations = [
        migrations.AddField(
            model_name="milestone",
            name="translations",
            field=models.JSONField(blank=True, default=dict, verbose_name="translations"),
        ),
    ]
