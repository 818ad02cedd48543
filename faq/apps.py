from django.apps import AppConfig

from calculator import versions


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = "FAQ"  # the admin's heading (Django would write "Faq")

    def ready(self) -> None:
        # Editors' FAQ wording appears on model pages (calculator.versions).
        versions.bump_on_change(versions.MODELS, [self.get_model("FaqEntry")])
