from django.urls import path

from calculator import views

app_name = "calculator"

urlpatterns = [
    path("", views.home, name="home"),
    # models
    path("models/", views.model_list, name="model-list"),
    path("models/<str:slug>/", views.model_detail, name="model-detail"),
    # hardware: "what can I run"
    path("hardware/", views.hardware_list, name="hardware-list"),
    path("hardware/<slug:slug>/", views.hardware_detail, name="hardware-detail"),
    path("compare/", views.compare, name="compare"),
    path("methodology/", views.methodology, name="methodology"),
]
