"""The pages' forms: widgets, choices and labels for every query-string control.

Calculator options (quant, context, KV type, parallel sequences) are parsed by
``calculator.options``, the one parser the API and the CLI use too: the option form
fields below only render a widget and hand the typed text to it. Bad values never
break a page: a field that does not parse keeps its default and its message is shown
inline (``problems``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from calculator import options, services
from calculator.engine.estimate import MAX_PARALLEL, Options
from calculator.engine.hardware import KINDS
from calculator.engine.kv_cache import KV_TYPES
from calculator.engine.quant import PRESETS
from calculator.engine.types import EngineError
from calculator.options import BUILD_DEFAULTS, DEFAULTS, BuildQuery, GpuPick, Problem
from calculator.selectors import SIZE_BUCKETS
from catalog import selectors as catalog_selectors
from catalog.models import MemoryKit, MemoryKitQuerySet
from front.presenters.labels import label

KV_LABELS = {
    "f16": "f16 (default, full precision)",
    "q8_0": "q8_0 (half the memory, near-lossless)",
    "q4_0": "q4_0 (quarter, some quality loss)",
}
KV_CHOICES = [
    *KV_LABELS.items(),
    *((name, name) for name in KV_TYPES if name not in KV_LABELS),
]
GROUP_ORDER = (
    "K-quants",
    "I-quants",
    "I-quants (need an importance matrix)",
    "legacy",
    "MXFP4",
    "unquantized",
    "ternary (only for ternary-trained models)",
)


def quant_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """PRESETS grouped for a <select> with <optgroup>s, in a fixed group order."""
    groups: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUP_ORDER}
    for name, preset in PRESETS.items():
        groups.setdefault(preset.group, []).append((name, name))
    return [(label("quant_group", group), items) for group, items in groups.items() if items]


QUANT_CHOICES = quant_groups()
QUANT_HELP = [
    (group, [(name, PRESETS[name].description) for name, _ in items])
    for group, items in QUANT_CHOICES
]
# The same, as the model page's "What the quantization levels mean" shows it: fixed
# text, written once rather than as ~100 template nodes on every render.
QUANT_HELP_HTML = mark_safe(  # noqa: S308  (every value escaped)
    "".join(
        f"<h3>{escape(group)}</h3><dl>"
        + "".join(f"<dt>{escape(n)}</dt><dd>{escape(d)}</dd>" for n, d in items)
        + "</dl>"
        for group, items in QUANT_HELP
    )
)


# --- widgets rendered in Python -----------------------------------------------------------
# Django's widgets render through the form renderer's templates: a template per option of
# a menu (a model page's quant menu has ~50). These write the same HTML as one string.


def option_tags(choices: Sequence[tuple[Any, Any]], selected: Any = None) -> SafeString:
    """``<option>`` tags for ``(value, label)`` pairs, ``selected`` marked."""
    selected = "" if selected is None else str(selected)
    return mark_safe(  # noqa: S308  (every value escaped)
        "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) == selected else ""}>'
            f"{escape(str(name))}</option>"
            for v, name in choices
        )
    )


class FastSelect(forms.Select):
    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts: list[str] = [
            format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))
        ]
        for group, choices, _ in widget["optgroups"]:
            if group:
                parts.append(format_html('<optgroup label="{}">', group))
            for option in choices:
                chosen = " selected" if option["attrs"].get("selected") else ""
                parts.append(
                    f'<option value="{escape(str(option["value"]))}"{chosen}>'
                    f"{escape(str(option['label']))}</option>"
                )
            if group:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308  (every part escaped above)


class FastInput(forms.TextInput):
    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else format_html(' value="{}"', widget["value"])
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            shown,
            flatatt(widget["attrs"]),
        )


class FastNumberInput(FastInput):
    input_type = "number"


# --- calculator options: widgets over the one parser ------------------------------------


class OptionField(forms.Field):
    """A form field whose value ``calculator.options`` parses (``option`` names the
    parser's field); the widget and choices are the only things decided here."""

    option = ""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        try:
            return options.parse_value(self.option, value)
        except EngineError as err:
            raise forms.ValidationError(capfirst(str(err)), code="invalid") from err

    def validate(self, value: Any) -> None:
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class QuantField(OptionField, forms.ChoiceField):
    option = "quant"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", FastSelect)
        super().__init__(choices=QUANT_CHOICES, **kwargs)


class ContextField(OptionField, forms.CharField):
    option = "context"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", FastInput)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {
                "inputmode": "numeric",
                "autocomplete": "off",
                "size": 9,
                "maxlength": options.MAX_INPUT,
            }
        )


class KvTypeField(OptionField, forms.ChoiceField):
    option = "kv_type"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", FastSelect)
        super().__init__(choices=KV_CHOICES, **kwargs)


class ParallelField(OptionField, forms.CharField):
    option = "parallel"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", FastNumberInput(attrs={"min": 1, "max": MAX_PARALLEL, "size": 4})
        )
        super().__init__(**kwargs)


# The widget of each option; the options and their order come from the parser's table.
OPTION_WIDGETS: dict[str, type[OptionField]] = {
    "quant": QuantField,
    "context": ContextField,
    "kv_type": KvTypeField,
    "parallel": ParallelField,
}

EstimateForm: type[forms.Form] = type(
    "EstimateForm",
    (forms.Form,),
    {
        "__doc__": "The calculator's controls: one field per option, in the parser's order.",
        "__module__": __name__,
        **{f.name: OPTION_WIDGETS[f.name](label=f.label) for f in options.FIELDS},
    },
)


def page_options(data: Any, default: Options = DEFAULTS) -> tuple[Options, list[Problem]]:
    """The options a page shows for a query string, and what was wrong with it (each
    bad field keeps its default; a last line says what is shown instead)."""
    parsed, problems = options.parse_lenient(data, default)
    shown = list(problems)
    if shown:
        shown.append(
            Problem(
                "",
                f"Showing {parsed.quant} at {parsed.context:,} tokens, {parsed.kv_type} KV "
                f"cache, {parsed.parallel} sequence(s) instead.",
            )
        )
    return parsed, shown


def build_problem(field: str, message: str) -> Problem:
    """A build field's message, led by the picker's name for it ("RAM installed (GB): …")."""
    known = options.BY_NAME.get(field)
    return Problem(field, f"{known.label if known else 'Build'}: {message}")


def page_build(data: Any) -> tuple[BuildQuery, list[Problem]]:
    """The build a page is asked about (syntax only; the engine judges the rest). A bad
    field means no build: the page shows the presets and the message."""
    query, problems = options.parse_lenient(data, BUILD_DEFAULTS, options.BUILD_NAMES)
    return query, [build_problem(p.field, p.message) for p in problems]


# --- the build picker -------------------------------------------------------------------

Choices = list[tuple[str, str]]
GPU_COUNTS = (1, 2, 3, 4, 6, 8)
GPU_SLOTS = 2  # GPU menus shown; a URL may carry more (each is kept as given)


@dataclass(frozen=True)
class BuildPicker:
    """The controls of the build picker: menus from the reviewed data, the picked state.
    Rendered by hand (``gpu`` repeats, which a Django form field cannot)."""

    query: BuildQuery
    presets: Choices  # (slug, name)
    hosts: list[tuple[str, Choices]]  # grouped: CPU platforms, unified-memory machines
    gpus: Choices  # ("rtx-3090:2", "2 x NVIDIA RTX 3090")
    gpu_values: tuple[str, ...]  # one per menu shown: the picked value or ""

    @property
    def ram_gb(self) -> str:
        return "" if self.query.ram_gb is None else str(self.query.ram_gb)

    @property
    def dimms(self) -> str:
        return "" if self.query.dimms is None else str(self.query.dimms)


def build_picker(query: BuildQuery, hardware: services.HardwareSet) -> BuildPicker:
    presets = [(b.slug, b.name) for b in services.preset_builds(hardware)]
    unified = [(p.slug, p.name) for p in hardware.profiles if p.device.host_mode == "unified"]
    platforms = [(p.slug, p.name) for p in services.platforms().values()]
    gpus: Choices = [
        (str(GpuPick(p.slug, n)), p.name if n == 1 else f"{n} x {p.name}")
        for p in hardware.profiles
        if p.device.accelerator
        for n in GPU_COUNTS
    ]
    picked = [str(g) for g in query.gpu]
    known = {value for value, _ in gpus}
    gpus += [(v, v) for v in picked if v not in known]  # a count the menu does not list
    slots = max(GPU_SLOTS, len(picked))
    values = tuple(picked + [""] * (slots - len(picked)))
    return BuildPicker(
        query=query,
        presets=presets,
        hosts=[
            ("CPU platforms (GPUs go in these)", platforms),
            ("Macs and unified-memory PCs", unified),
        ],  # fmt: skip
        gpus=gpus,
        gpu_values=values,
    )


PUBLISHED_GROUP = "Published files"


def quant_choices(published: Sequence[str] = ()) -> list[tuple[str, list[tuple[str, str]]]]:
    """The quant menu: a model's published file labels (UD-Q2_K_XL ...) above the presets."""
    if not published:
        return QUANT_CHOICES
    return [(PUBLISHED_GROUP, [(label, label) for label in published]), *QUANT_CHOICES]


def display_form(shown: Options, published: Sequence[str] = ()) -> forms.Form:
    """An unbound form showing the options actually used (never the bad input), with the
    model's ``published`` file labels grouped above the presets in the quant menu."""
    form = EstimateForm(initial={f.name: f.text(getattr(shown, f.name)) for f in options.FIELDS})
    if published:
        quant = form.fields["quant"]
        assert isinstance(quant, forms.ChoiceField)  # EstimateForm.quant is a QuantField
        quant.choices = quant_choices(published)
    return form


def form_state(shown: Options) -> str:
    """The options a results region was computed for, as the form writes them (JSON for
    ``data-state``): static/js/site.js sets the controls, which sit outside the swapped
    region, to what the answer shows."""
    return json.dumps({f.name: f.text(getattr(shown, f.name)) for f in options.FIELDS})


def form_problems(form: forms.Form) -> list[Problem]:
    """A bound form's errors, one ``Problem`` per field, for the inline message box."""
    return [
        Problem(name, f"{form.fields[name].label}: {' '.join(str(error) for error in errors)}")
        for name, errors in form.errors.items()
    ]


# --- other page filters -------------------------------------------------------------------


class ModelFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    family = forms.ChoiceField(label="Family", required=False, choices=[("", "All families")])
    architecture = forms.ChoiceField(
        label="Architecture",
        required=False,
        choices=[("", "Dense and MoE"), ("dense", "Dense"), ("moe", "Mixture-of-Experts")],
    )
    size = forms.ChoiceField(
        label="Size",
        required=False,
        choices=[("", "Any size"), *((k, v[0]) for k, v in SIZE_BUCKETS.items())],
    )
    fits_gb = forms.IntegerField(
        label="Fits in (GB of RAM)", required=False, min_value=1, max_value=100_000,
        widget=forms.NumberInput(attrs={"min": 1, "placeholder": "e.g. 64", "size": 6}),
    )  # fmt: skip
    quant = QuantField(label="at quant")

    def __init__(self, *args: Any, families: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        family = self.fields["family"]
        assert isinstance(family, forms.ChoiceField)  # the ChoiceField declared above
        family.choices = [("", "All families"), *((f, f) for f in families)]

    def clean_quant(self) -> str:
        quant: str = self.cleaned_data.get("quant") or DEFAULTS.quant
        if quant not in PRESETS:  # a published file's label: only some models have it
            raise forms.ValidationError(
                f"{quant} is a file published for some models; the list sizes every model "
                "at a llama-quantize preset (Q4_K_M, Q8_0, ...): pick one, or open a "
                "model's page for its files.",
                code="invalid",
            )
        return quant


class MachineForm(forms.Form):
    """ "I have N GB": system RAM or unified memory, and its bandwidth (optional)."""

    memory_gb = forms.FloatField(
        label="Memory (GB)", required=False, min_value=1, max_value=100_000,
        widget=forms.NumberInput(attrs={"min": 1, "step": "any", "placeholder": "64", "size": 6}),
    )  # fmt: skip
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[(kind, label("hardware_kind", kind)) for kind in ("cpu", "apple", "apu")],
    )
    bandwidth_gbps = forms.FloatField(
        label="Memory bandwidth (GB/s, optional)", required=False, min_value=1,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"min": 1, "step": "any", "placeholder": "89.6", "size": 6}),
    )  # fmt: skip
    context = ContextField(label="Context length (tokens)")

    def clean_kind(self) -> str:
        kind = self.cleaned_data.get("kind") or "cpu"
        assert kind in KINDS
        return kind


class CompareForm(forms.Form):
    models = forms.CharField(
        label="Models (names or slugs, comma-separated)", required=False, max_length=500
    )

    def clean_models(self) -> list[str]:
        """The names typed, one per comma (``front.presenters.compare.pick_models``
        finds the models)."""
        raw = self.cleaned_data.get("models") or ""
        terms = [t.strip() for t in raw.replace(";", ",").split(",") if t.strip()]
        return list(dict.fromkeys(terms))[:8]


class SearchForm(forms.Form):
    q = forms.CharField(label="Find a model", required=False, max_length=100)


CAPACITY_CHOICES = [
    ("", "Any"),
    *[(str(gb), f"{gb} GB or more") for gb in (32, 64, 96, 128, 192, 256, 384, 512, 768, 1024)],
]
ECC_CHOICES = [("", "Any"), ("yes", "ECC"), ("no", "Non-ECC")]


KIT_SORTS = [
    ("", "Capacity"),
    ("price", "Price, lowest first"),
    ("-price", "Price, highest first"),
    ("per_gb", "Price per GB, lowest first"),
    ("-per_gb", "Price per GB, highest first"),
    ("-speed", "Speed, fastest first"),
    ("speed", "Speed, slowest first"),
]
KIT_SIZES = [("", "Any"), *[(str(n), f"{n} modules") for n in (1, 2, 4, 8, 12, 16, 24)]]
KIT_SPEEDS = [
    ("", "Any"),
    *[(str(n), f"{n} MT/s or faster") for n in (3200, 4800, 5600, 6000, 6400)],
]


def platform_choices() -> list[tuple[str, str]]:
    return [("", "Any"), *[(p.slug, p.name) for p in catalog_selectors.platforms()]]


class KitFilterForm(forms.Form):
    """GET filters for /kits/; every field optional, invalid input re-renders with errors.
    ``platform`` is a platform slug (the build picker's ``host=`` value is read as it)."""

    platform = forms.ChoiceField(label="Fits my platform", choices=platform_choices, required=False)
    capacity = forms.TypedChoiceField(
        choices=CAPACITY_CHOICES, coerce=int, required=False, empty_value=None
    )
    ddr = forms.ChoiceField(
        label="DDR generation",
        choices=[("", "Any"), *MemoryKit.DdrGeneration.choices],
        required=False,
    )
    form_factor = forms.ChoiceField(
        label="DIMM type", choices=[("", "Any"), *MemoryKit.FormFactor.choices], required=False
    )
    modules = forms.TypedChoiceField(
        label="Kit size", choices=KIT_SIZES, coerce=int, required=False, empty_value=None
    )
    speed = forms.TypedChoiceField(
        label="Speed", choices=KIT_SPEEDS, coerce=int, required=False, empty_value=None
    )
    ecc = forms.ChoiceField(label="ECC", choices=ECC_CHOICES, required=False)
    max_price = forms.DecimalField(
        label="Max price", required=False, min_value=Decimal("1"), max_value=Decimal("1000000"),
        decimal_places=2,
    )  # fmt: skip
    max_price_per_gb = forms.DecimalField(
        label="Max price per GB",
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("10000"),
        decimal_places=2,
    )
    sort = forms.ChoiceField(label="Sort by", choices=KIT_SORTS, required=False)

    def filter(self, kits: MemoryKitQuerySet) -> MemoryKitQuerySet:
        data = self.cleaned_data
        if data.get("capacity"):
            kits = kits.with_capacity_at_least(data["capacity"])
        if data.get("ddr"):
            kits = kits.filter(ddr_generation=data["ddr"])
        if data.get("form_factor"):
            kits = kits.filter(form_factor=data["form_factor"])
        if data.get("modules"):
            kits = kits.filter(module_count=data["modules"])
        if data.get("speed"):
            kits = kits.filter(speed_mts__gte=data["speed"])
        if data.get("ecc"):
            kits = kits.filter(ecc=data["ecc"] == "yes")
        if data.get("max_price"):
            # with_best_price()'s annotation, which the plugin does not see (catalog.models).
            kits = kits.filter(best_price__lte=data["max_price"])  # type: ignore[misc]
        if data.get("max_price_per_gb"):
            kits = kits.with_price_per_gb_at_most(data["max_price_per_gb"])
        return kits
