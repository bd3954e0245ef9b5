from django.urls import path

from stampcard.counter import views

# Every URL here goes through the device door (tenancy.middleware) by this namespace.
app_name = "counter"
urlpatterns = [
    path("", views.whoami, name="whoami"),
]
