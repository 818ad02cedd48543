from django.contrib import admin
from django.urls import include, path

from calculator.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("kits/", include("catalog.urls")),
    path("api/v1/", api.urls),
    path("", include("calculator.urls")),
]
