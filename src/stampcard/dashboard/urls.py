from django.urls import path

from stampcard.dashboard import analytics, exports, views

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
urlpatterns += [
    path("b/<slug:business_slug>/analytics/", analytics.analytics, name="analytics"),
    path(
        "b/<slug:business_slug>/analytics/<slug:chart>.csv",
        analytics.analytics_csv,
        name="analytics_csv",
    ),
    path("b/<slug:business_slug>/export/", exports.export_page, name="export"),
]
