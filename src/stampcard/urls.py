from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from stampcard import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Early: Apple Wallet's calls are frequent, and resolving walks the list in order.
    path("passkit/", include("stampcard.wallet.passkit_urls")),
    path(settings.ADMIN_PATH, admin.site.urls),
    path("accounts/", include("stampcard.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("stampcard.counter.entry_urls")),
    path("device/", include("stampcard.counter.urls")),
    path("", include("stampcard.wallet.urls")),
    path("", include("stampcard.customer.urls")),
    path("", include("stampcard.dashboard.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
