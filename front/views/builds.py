"""Preset build pages: the list of the builds people run, and one build with every
model's best quant on it. Thin views over ``front.presenters.builds``."""

from __future__ import annotations

from dataclasses import replace

from django.http import HttpResponse
from django.views.decorators.vary import vary_on_headers

from calculator import selectors, services
from calculator.options import DEFAULTS
from front import forms
from front.caching import cached_page
from front.htmx import HtmxHttpRequest, render_region
from front.http import safe_only
from front.presenters.builds import build_summaries, models_on_build
from front.presenters.labels import context_presets
from front.views.calculator import not_found


@safe_only
@cached_page()
def build_list(request: HtmxHttpRequest) -> HttpResponse:
    hardware = services.hardware_set()
    notable = list(selectors.popular_models())
    context = {"summaries": build_summaries(services.preset_builds(hardware), notable, hardware)}
    return render_region(request, "calculator/build_list.html", context)


@safe_only
@cached_page(options=("context",))
@vary_on_headers("HX-Request")
def build_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    hardware = services.hardware_set()
    build = services.preset_build(slug, hardware)
    if build is None:
        return not_found(request, query="")
    form = forms.MachineForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    options = replace(DEFAULTS, context=data.get("context") or DEFAULTS.context)
    rows = models_on_build(list(selectors.models()), build, hardware, options)
    context = {
        "build": build,
        "options": options,
        "rows": rows,
        "runs": sum(1 for r in rows if r.pick),
        "problems": forms.form_problems(form),
        "presets": context_presets(131072),
    }
    return render_region(request, "calculator/build_detail.html", context)
