from django.http import HttpRequest

from calculator.presenters import ENGINE_FACTS, EngineFacts


def engine_facts(request: HttpRequest) -> dict[str, EngineFacts]:
    """The engine's fixed allowances (fit margin, OS reserve, planning fill, micro-batch) for
    every template that explains them, so prose never restates a number by hand."""
    return {"facts": ENGINE_FACTS}
