"""The business settings page: the owner's, linked from the navigation for owners only."""

from django.urls import reverse

from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.models import Business
from stampcard.wallet import changes


def url(business):
    return reverse("dashboard:business_settings", kwargs={"business_slug": business.slug})


FORM = {
    "name": "Corner Cafe & Bakery",
    "country": "TH",
    "time_zone": "Asia/Bangkok",
    "currency": "THB",
    "default_language": "th",
    "languages": ["en", "th"],
    "brand_color": "#aa3300",
}


def test_the_owner_saves_the_settings(client, owner, business):
    client.force_login(owner)
    page = client.get(url(business)).content.decode()
    assert 'value="Corner Cafe"' in page
    response = client.post(url(business), FORM)
    assert response.status_code == 302
    saved = Business.objects.get()
    assert (saved.name, saved.country, saved.currency, saved.languages, saved.brand_color) == (
        "Corner Cafe & Bakery",
        "TH",
        "THB",
        ["en", "th"],
        "#aa3300",
    )
    assert OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED).count() == 1
    assert "Settings saved." in client.get(response["Location"]).content.decode()


def test_bad_input_is_shown_with_the_form(client, owner, business):
    client.force_login(owner)
    response = client.post(url(business), {**FORM, "name": " ", "brand_color": "red"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "Choose a colour such as #1f2937." in page
    assert Business.objects.get().name == "Corner Cafe"


def test_only_owners_see_the_page_and_its_link(client, owner, maria, bob, business):
    settings_link = f'href="{url(business)}"'
    client.force_login(owner)
    assert settings_link in client.get(f"/b/{business.slug}/customers/").content.decode()
    for user in (maria, bob):
        client.force_login(user)
        assert client.get(url(business)).status_code == 403
        assert client.post(url(business), FORM).status_code == 403
        assert settings_link not in client.get(f"/b/{business.slug}/customers/").content.decode()
    assert Business.objects.get().name == "Corner Cafe"
