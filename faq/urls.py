from django.urls import path

from faq import views

app_name = "faq"

urlpatterns = [
    path("faq/", views.index, name="index"),
    # per model (the calculator owns models/<slug>/ itself)
    path("models/<str:slug>/faq/", views.model_faq, name="model-faq"),
    path("models/<str:slug>/og.svg", views.model_og_image, name="model-og-image"),
]
