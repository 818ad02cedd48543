from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.kit_list, name="kit-list"),
    path("<slug:slug>/", views.kit_detail, name="kit-detail"),
]
