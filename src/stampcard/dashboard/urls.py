from django.urls import path

from stampcard.counter import views as counter
from stampcard.dashboard import (
    analytics,
    business_settings,
    claims,
    devices,
    exports,
    onboarding,
    printables,
    programs,
    views,
)

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("b/<slug:business_slug>/", views.business, name="business"),
    path(
        "b/<slug:business_slug>/programs/<int:program_id>/",
        views.program_detail,
        name="program",
    ),
    path("b/<slug:business_slug>/cards/<str:card_code>/", views.card_detail, name="card"),
    path(
        "b/<slug:business_slug>/vouchers/<int:voucher_id>/",
        views.voucher_detail,
        name="voucher",
    ),
    path("b/<slug:business_slug>/audit/", views.audit_trail, name="audit"),
    path("b/<slug:business_slug>/scanner/", counter.staff_scanner, name="scanner"),
    path("b/<slug:business_slug>/scanner/cards", counter.staff_cards, name="scanner_cards"),
    path(
        "b/<slug:business_slug>/scanner/cards/<str:card_code>/hand-over",
        counter.staff_hand_over,
        name="scanner_hand_over",
    ),
    path("b/<slug:business_slug>/devices/", devices.devices, name="devices"),
    path(
        "b/<slug:business_slug>/settings/",
        business_settings.business_settings,
        name="business_settings",
    ),
    # Onboarding: the business, its first shop, its first card (the designer), the QR.
    path("start/", onboarding.start, name="start"),
    path(
        "b/<slug:business_slug>/start/location/",
        onboarding.start_location,
        name="start_location",
    ),
    path(
        "b/<slug:business_slug>/start/<int:program_id>/",
        onboarding.start_done,
        name="start_done",
    ),
    # The program designer and the printables.
    path("b/<slug:business_slug>/programs/new/", programs.designer, name="program_new"),
    path(
        "b/<slug:business_slug>/programs/<int:program_id>/edit/",
        programs.designer,
        name="program_edit",
    ),
    path("b/<slug:business_slug>/programs/preview/", programs.preview, name="program_preview"),
    path(
        "b/<slug:business_slug>/programs/<int:program_id>/status/",
        programs.change_status,
        name="program_status",
    ),
    path(
        "b/<slug:business_slug>/programs/<int:program_id>/print/",
        printables.print_page,
        name="program_print",
    ),
    path(
        "b/<slug:business_slug>/programs/<int:program_id>/printable.pdf",
        printables.printable,
        name="program_printable",
    ),
]

# Customers and vouchers (dashboard.customers, dashboard.vouchers).
from stampcard.dashboard import customers, vouchers  # noqa: E402

urlpatterns += [
    path("b/<slug:business_slug>/customers/", customers.customer_list, name="customers"),
    path("b/<slug:business_slug>/customers/export.csv", customers.export, name="customers_export"),
    path("b/<slug:business_slug>/customers/import/", customers.import_csv, name="customers_import"),
    path(
        "b/<slug:business_slug>/customers/<int:customer_id>/",
        customers.customer_detail,
        name="customer",
    ),
    path(
        "b/<slug:business_slug>/customers/<int:customer_id>/correct/",
        customers.correct,
        name="customer_correct",
    ),
    path(
        "b/<slug:business_slug>/customers/<int:customer_id>/erase/",
        customers.erase,
        name="customer_erase",
    ),
    path("b/<slug:business_slug>/vouchers/", vouchers.voucher_list, name="vouchers"),
    path("b/<slug:business_slug>/vouchers/issue/", vouchers.issue_voucher, name="voucher_issue"),
    path(
        "b/<slug:business_slug>/vouchers/issue/customers/",
        vouchers.customer_choices,
        name="voucher_customers",
    ),
    path(
        "b/<slug:business_slug>/vouchers/<int:voucher_id>/image/",
        vouchers.voucher_image,
        name="voucher_image",
    ),
    path(
        "b/<slug:business_slug>/vouchers/<int:voucher_id>/print.pdf",
        vouchers.voucher_printable,
        name="voucher_printable",
    ),
    path(
        "b/<slug:business_slug>/vouchers/<int:voucher_id>/void/",
        vouchers.void,
        name="voucher_void",
    ),
]
urlpatterns += [
    path("b/<slug:business_slug>/analytics/", analytics.analytics, name="analytics"),
    path(
        "b/<slug:business_slug>/analytics/<slug:chart>.csv",
        analytics.analytics_csv,
        name="analytics_csv",
    ),
    path("b/<slug:business_slug>/export/", exports.export_page, name="export"),
    path("b/<slug:business_slug>/import/", exports.import_page, name="import"),
    path("b/<slug:business_slug>/claims/", claims.claim_batches, name="claim_batches"),
    path(
        "b/<slug:business_slug>/claims/<int:batch_id>/sheet.pdf",
        claims.claim_sheet,
        name="claim_sheet",
    ),
    path(
        "b/<slug:business_slug>/claims/<int:batch_id>/codes.csv",
        claims.claim_csv,
        name="claim_csv",
    ),
    path("b/<slug:business_slug>/receipt-keys/", claims.receipt_keys, name="receipt_keys"),
]

# Redeem codes: the code pools (dashboard.code_pools).
from stampcard.dashboard import code_pools  # noqa: E402

urlpatterns += [
    path("b/<slug:business_slug>/redeem-codes/", code_pools.redeem_codes, name="redeem_codes"),
    path(
        "b/<slug:business_slug>/redeem-codes/<int:pool_id>/unused.csv",
        code_pools.unused_codes,
        name="redeem_codes_csv",
    ),
]

# Shops (dashboard.locations).
from stampcard.dashboard import locations  # noqa: E402

urlpatterns += [
    path("b/<slug:business_slug>/locations/", locations.locations, name="locations"),
    path(
        "b/<slug:business_slug>/locations/<int:location_id>/",
        locations.location_edit,
        name="location_edit",
    ),
]

# The team (dashboard.team), and the page an invitation mail links to: its token is its door.
from stampcard.dashboard import team  # noqa: E402

urlpatterns += [
    path("b/<slug:business_slug>/team/", team.team, name="team"),
    path("b/<slug:business_slug>/team/<int:member_id>/", team.member, name="team_member"),
    path("invite/<str:token>/", team.invitation, name="invitation"),
]
