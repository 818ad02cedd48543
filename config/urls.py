from django.contrib import admin
from django.urls import include, path

from config import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("", include("front.urls")),
]

handler404 = "front.views.calculator.not_found"
handler500 = "config.deadline.server_error"  # 503 when the database is unavailable
