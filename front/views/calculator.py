"""Calculator pages. Thin function views: parse the query string (``calculator.options``
through the page forms), ask the presenters (which ask the engine), render one template
per page. Under htmx, the swappable region of the same template is rendered alone."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from calculator import selectors, services, versions
from calculator.engine.build import Build
from calculator.engine.estimate import Options
from calculator.engine.hardware import SOLD_SIZES_GB, machine_budget_bytes
from calculator.engine.types import EngineError
from calculator.formatting import context_label
from calculator.models import LlmModel
from calculator.options import DEFAULTS, NAMES, BuildQuery, Problem
from catalog.gguf_selectors import model_files
from faq.selectors import model_faq
from front import forms, search, seo
from front.caching import cached_page
from front.htmx import HtmxHttpRequest, is_partial, render_region
from front.http import safe_only
from front.middleware import api_error_for, is_api
from front.presenters.builds import speed_table
from front.presenters.compare import compare as compare_models
from front.presenters.compare import pick_models
from front.presenters.costs import cost_answer, model_costs
from front.presenters.files import (
    choose_quant,
    defaults_for_page,
    files_table,
    model_defaults,
    published_labels,
)
from front.presenters.kits import kit_picks
from front.presenters.labels import context_presets, page_query
from front.presenters.lists import runs_in_budget, runs_on_profile, summaries
from front.presenters.methodology import validation_report
from front.presenters.model_page import calculation


@safe_only
@cached_page()
def home(request: HtmxHttpRequest) -> HttpResponse:
    popular = list(selectors.popular_models())
    hardware = services.hardware_set()
    return render(
        request,
        "calculator/home.html",
        {
            "popular": summaries(popular, DEFAULTS),
            "options": DEFAULTS,
            "profiles": hardware.profiles,
            "search_form": forms.SearchForm(),
            "machine_form": forms.MachineForm(initial={"kind": "cpu"}),
        },
    )


@safe_only
@cached_page(options=("quant",), params=("q", "family", "architecture", "size", "fits_gb"))
@vary_on_headers("HX-Request", "HX-Target")
def model_list(request: HtmxHttpRequest) -> HttpResponse:
    families = selectors.families()
    form = forms.ModelFilterForm(request.GET or None, families=families)
    data = form.cleaned_data if form.is_valid() else {}
    query = data.get("q") or ""
    qs = selectors.models(
        family=data.get("family") or "",
        architecture=data.get("architecture") or "",
        size=data.get("size") or "",
    )
    # A search ranks by how well each model's names match what was typed (typos too).
    found = [m.model for m in search.rank(query, qs)] if query else qs
    options = Options(quant=data.get("quant") or DEFAULTS.quant)
    rows = summaries(found, options)
    fits_gb = data.get("fits_gb")
    if fits_gb:
        budget = machine_budget_bytes(fits_gb)
        rows = [r for r in rows if r.total_bytes <= budget]
    context = {
        "form": form,
        "rows": rows,
        "options": options,
        "fits_gb": fits_gb,
        "query": query,
        "problems": forms.form_problems(form),
    }
    region = "search-results" if request.htmx.target == "search-results" else "result"
    # Live search results appear on other pages (home): they do not retitle them.
    page = "calculator/model_list.html"
    return render_region(request, page, context, region, title=region == "result")


@safe_only
@cached_page(
    options=NAMES, data=(versions.MODELS, versions.PRICES), defaults=defaults_for_page, build=True
)
@vary_on_headers("HX-Request")
def model_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    model = services.find_model(slug)
    if model is None:
        moved = selectors.redirect_target(slug)
        if moved is not None:
            return _redirect_keeping_query(request, moved.get_absolute_url())
        return not_found(request, query=slug.replace("-", " "))
    if model.slug != slug:
        return _redirect_keeping_query(request, model.get_absolute_url())
    options, problems = forms.page_options(request.GET, model_defaults(model))
    hardware = services.hardware_set()
    arch = services.architecture_of(model)
    lazy = is_partial(request)  # an htmx update: the regions below load when asked for
    files = model_files(model)  # the model's listing (read once per data version)
    choice = choose_quant(model, arch, options, strict=False, files=files)
    options, problems = choice.options, [*problems, *choice.problems]
    page = "calculator/model_detail.html"
    if lazy and request.htmx.target in LAZY_REGIONS:
        region = {"model": model, "current": options.quant}
        region["context_label"] = context_label(options.context)
        if request.htmx.target == "kit-picks":
            est = services.estimate_for(arch, options, hardware, weights=choice.weights)
            region.update(kits=kit_picks(est, hardware), required_gb=est.recommended_ram_gb)
            region["costs"] = model_costs(arch, options, hardware, weights=choice.weights)
        else:
            region["files"] = files_table(model, arch, options, hardware, files)
        return render(request, f"{page}#{request.htmx.target}", region)
    picked, build_problems = forms.page_build(request.GET)
    chosen = _chosen_build(picked, hardware, build_problems)
    if lazy and request.htmx.target == "builds":  # every build, asked for by "Show the other …"
        table = speed_table(
            arch, options, hardware, weights=choice.weights, chosen=chosen,
            model_file=choice.model_file,
        )  # fmt: skip
        region = {"speed": table, "calc": {"options": options}, "url": request.get_full_path()}
        region["context_label"] = context_label(options.context)
        return render(request, f"{page}#builds", region)
    calc = calculation(
        model, options, hardware, choice.weights, choice.notes,
        chosen=chosen, model_file=choice.model_file,
    )  # fmt: skip
    context = {
        "model": model,
        "calc": calc,
        "state": forms.form_state(options),
        "problems": [*problems, *build_problems],
        "lazy": lazy,
        # an update sends the fastest builds; the rest load on demand (region "builds")
        "speed": calc.builds.first(SPEED_ROWS_FIRST) if lazy else calc.builds,
        "url": request.get_full_path(),
        "current": options.quant,
        "context_label": calc.context_label,
        "required_gb": calc.estimate.recommended_ram_gb,
    }
    head = seo.headline_from(model, calc.estimate)
    context["seo_title"] = seo.model_state_title(head)  # the tab follows the state
    if lazy:  # the answer alone: the form stays in the visitor's page
        return _no_store_if(build_problems, render_region(request, page, context))
    context["form"] = forms.display_form(options, tuple(published_labels(model, files)))
    context["picker"] = forms.build_picker(picked, hardware)
    context["quant_help"] = forms.QUANT_HELP_HTML
    context["files"] = files_table(model, arch, options, hardware, files)
    # Kit picks carry live prices: selected on every render (two queries).
    context["kits"] = kit_picks(calc.estimate, hardware)
    context["costs"] = cost_answer([row.placement for row in calc.builds.running])
    faq = model_faq(model)
    title, description = seo.model_title(head), seo.model_description(head)
    crumbs = [
        ("Models", seo.absolute(request, reverse("calculator:model-list"))),
        (model.name, seo.canonical_url(request, model.get_absolute_url())),
    ]
    context.update(
        faq=faq,
        faq_json_ld=seo.json_ld_script(seo.faq_page(faq)) if faq else "",
        seo_description=description,
        head_tags=seo.head_tags(
            request,
            title=title,
            description=description,
            canonical=seo.canonical_url(request, model.get_absolute_url()),
            image_url=seo.absolute(request, reverse("faq:model-og-png", args=[model.slug])),
        ),
        breadcrumbs_json_ld=seo.json_ld_script(seo.breadcrumb_list(crumbs)),
    )
    return _no_store_if(build_problems, render(request, page, context))


# Regions of a model page an htmx update leaves out and loads when they are scrolled to
# (same URL and options, ``HX-Target`` naming the region): a visitor's change renders
# and sends only the answer, the fastest builds, the chart and the ladder. The other
# builds (region "builds") load when the visitor asks for them.
LAZY_REGIONS = ("gguf-files", "kit-picks")
SPEED_ROWS_FIRST = 4


def _chosen_build(
    picked: BuildQuery, hardware: services.HardwareSet, problems: list[Problem]
) -> Build | None:
    """The build the visitor picked, or None; what the engine refuses joins ``problems``
    (shown inline, the page renders without it)."""
    if problems:
        return None
    try:
        return services.build_from_query(picked, hardware)
    except EngineError as err:
        problems.append(forms.build_problem(err.field, str(err)))
        return None


def _no_store_if(problems: list[Problem], response: HttpResponse) -> HttpResponse:
    """A page showing a message about its build is rendered fresh, never cached."""
    if problems:
        response["Cache-Control"] = "no-store"
    return response


def _redirect_keeping_query(request: HttpRequest, path: str) -> HttpResponse:
    query = request.GET.urlencode()
    return HttpResponsePermanentRedirect(path + (f"?{query}" if query else ""))


@safe_only
@cached_page(options=("context",), params=("profile", "memory_gb", "kind", "bandwidth_gbps"))
@vary_on_headers("HX-Request")
def hardware_list(request: HtmxHttpRequest) -> HttpResponse:
    profile_slug = request.GET.get("profile", "")
    hardware = services.hardware_set()
    if profile_slug and hardware.get(profile_slug):
        return HttpResponseRedirect(reverse("calculator:hardware-detail", args=[profile_slug]))
    form = forms.MachineForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    memory_gb = data.get("memory_gb")
    rows, machine, options = [], None, DEFAULTS
    if memory_gb:
        kind = data.get("kind") or "cpu"
        bandwidth = data.get("bandwidth_gbps") or _typical_bandwidth(hardware, kind)
        machine = services.custom_hardware(
            hardware, memory_gb=memory_gb, bandwidth_gbps=bandwidth, kind=kind
        )
        options = replace(DEFAULTS, context=data.get("context") or DEFAULTS.context)
        rows = runs_in_budget(selectors.models(), machine, hardware, options)
    context = {
        "form": form if form.is_bound else forms.MachineForm(initial={"kind": "cpu"}),
        "problems": forms.form_problems(form),
        "machine": machine,
        "memory_gb": memory_gb,
        "bandwidth_given": bool(data.get("bandwidth_gbps")),
        "options": options,
        "rows": rows,
        "profiles": hardware.profiles,
        "sizes": [s for s in SOLD_SIZES_GB if s <= 512],
    }
    return render_region(request, "calculator/hardware_list.html", context)


TYPICAL_PROFILE = {
    "cpu": "desktop-ddr5-5600-2ch",
    "apple": "apple-m4-max-40c",
    "apu": "strix-halo-395-128",
}


def _typical_bandwidth(hardware: services.HardwareSet, kind: str) -> float:
    profile = hardware.get(TYPICAL_PROFILE.get(kind, "")) or hardware.host
    return profile.bandwidth_gbps if profile else 89.6


@safe_only
@cached_page(options=("context",))
@vary_on_headers("HX-Request")
def hardware_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    hardware = services.hardware_set()
    profile = hardware.get(slug)
    if profile is None:
        return not_found(request, query="")
    form = forms.MachineForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    options = replace(DEFAULTS, context=data.get("context") or DEFAULTS.context)
    rows = runs_on_profile(selectors.models(), profile, hardware, options)
    context = {
        "profile": profile,
        "options": options,
        "rows": rows,
        "runs_whole": sum(1 for r in rows if r.status == "fits"),
        "problems": forms.form_problems(form),
        "presets": context_presets(131072),
    }
    return render_region(request, "calculator/hardware_detail.html", context)


@safe_only
@cached_page(options=NAMES, params=("models",))
@vary_on_headers("HX-Request")
def compare(request: HtmxHttpRequest) -> HttpResponse:
    form = forms.CompareForm(request.GET or None)
    terms = form.cleaned_data["models"] if form.is_valid() else []
    options, problems = forms.page_options(request.GET)
    catalog = list(selectors.models())
    picked = pick_models(terms, catalog)
    options_query = page_query(options)

    def compare_with(model: LlmModel) -> str:  # a "did you mean" link keeps the options
        models = urlencode({"models": picked.models_param(model)})
        return f"{reverse('calculator:compare')}?{models}{options_query.replace('?', '&')}"

    unknown = [(u.term, [(m, compare_with(m)) for m in u.suggestions]) for u in picked.unknown]
    hardware = services.hardware_set()
    compared, profiles = compare_models(picked.models, options, hardware)
    context = {
        "form": form if form.is_bound else forms.CompareForm(),
        "options_form": forms.display_form(options),
        "options": options,
        "options_query": options_query,
        "compared": compared,
        "profiles": profiles,
        "problems": problems,
        "unknown": unknown,
        "all_models": catalog,
        "models_value": picked.text,
    }
    return render_region(request, "calculator/compare.html", context)


@safe_only
@cached_page()
def methodology(request: HttpRequest) -> HttpResponse:
    models = list(selectors.models())
    hardware = services.hardware_set()
    report = validation_report(models, hardware)
    url = seo.canonical_url(request)
    modified = max((m.updated_at for m in models), default=None) or "2026-11-29"
    description = (
        "How every figure is computed, the data sources, and our predictions against "
        "published GGUF sizes, parameter counts, llama.cpp KV caches and decode speeds."
    )
    json_ld = seo.json_ld_script([
        seo.tech_article(headline="How we calculate LLM memory and speed",
                         description=description, url=url, date_modified=modified),
        seo.dataset(name="Predicted versus published LLM memory and speed",
                    description=description, url=url, date_modified=modified,
                    variables=["GGUF file size", "parameter count", "KV cache size",
                               "decode tokens per second"]),
    ])  # fmt: skip
    return render(
        request,
        "calculator/methodology.html",
        {
            "report": report,
            "rows_by_kind": report.rows_by_kind(),
            "hardware": hardware,
            "sold_sizes": SOLD_SIZES_GB,
            "json_ld": json_ld,
        },
    )


def not_found(
    request: HttpRequest, exception: Exception | None = None, *, query: str = ""
) -> HttpResponse:
    """The 404 page: a search box and a few suggestions (also Django's handler404).
    Under /api/ the API's JSON error instead."""
    if is_api(request):
        return api_error_for(request, HttpResponse(status=404))
    if exception is not None and isinstance(exception, Http404):
        query = ""
    suggestions = search.suggest(query, selectors.models(), limit=5) if query else []
    popular = list(selectors.popular_models()[:8]) if not suggestions else []
    return render(
        request,
        "404.html",
        {"query": query, "suggestions": suggestions, "popular": popular},
        status=404,
    )
