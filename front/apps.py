from django.apps import AppConfig


class FrontConfig(AppConfig):
    """The web layer: every public view, page form, presenter, SEO helper, template
    filter, URL, sitemap, the JSON API and the ``estimate`` command."""

    name = "front"
