from django.apps import AppConfig

from calculator import versions


class CalculatorConfig(AppConfig):
    name = "calculator"

    def ready(self) -> None:
        # Every calculator page shows these rows (calculator.versions).
        shown = ("LlmModel", "HardwareProfile", "EfficiencyClass", "SlugRedirect")
        versions.bump_on_change(versions.MODELS, [self.get_model(name) for name in shown])
