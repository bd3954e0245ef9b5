from django.urls import path

from stampcard.dashboard import views

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
