"""Catalog of LLMs and hardware profiles. Numbers about them come from the engine;
these rows hold the reviewed inputs (config.json, bandwidths) with their sources."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from calculator.engine import context
from calculator.engine.architecture import parse_config
from calculator.engine.hardware import KINDS
from calculator.engine.quant import canonical_quant, resolve_quant
from calculator.engine.types import Architecture, EngineError

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$",
    "Use lower-case letters, digits, dots and hyphens (e.g. llama-3.1-8b-instruct).",
)


def parse_row_config(config: dict[str, Any]) -> Architecture:
    """:func:`~calculator.engine.architecture.parse_config` for a row's config, kept for
    the configs parsed last: loading a data file checks it, cleans the row and saves it,
    and each of the three would parse it again (about 4 ms a model)."""
    return _parse_config_text(json.dumps(config))


@lru_cache(maxsize=128)
def _parse_config_text(text: str) -> Architecture:
    return parse_config(json.loads(text))


def checksum(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, default=lambda o: getattr(o, "pk", str(o))).encode()
    ).hexdigest()


class LlmModelQuerySet(models.QuerySet["LlmModel"]):
    def published(self) -> LlmModelQuerySet:
        return self.filter(published=True)

    def popular(self) -> LlmModelQuerySet:
        return self.published().filter(popular=True)


class LlmModel(models.Model):
    DENSE, MOE = "dense", "moe"

    slug = models.CharField(max_length=100, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    family = models.CharField(max_length=50, db_index=True)
    hf_repo = models.CharField("Hugging Face repo", max_length=200, unique=True)
    release_date = models.DateField(null=True, blank=True)
    release_date_source = models.URLField(max_length=500, blank=True)
    summary = models.TextField(blank=True)
    popular = models.BooleanField(default=False)
    published = models.BooleanField(default=True)
    source = models.CharField(
        max_length=500, help_text="Where the config.json was read (URL or repo + path)."
    )
    config = models.JSONField(help_text="The model's Hugging Face config.json, verbatim.")
    default_quant = models.CharField(
        max_length=30,
        default="Q4_K_M",
        help_text="The quant pages start on: the official GGUF release type where one exists "
        "(MXFP4 for gpt-oss), else Q4_K_M.",
    )
    default_quant_source = models.URLField(
        max_length=500, blank=True, help_text="Where the official GGUF release is documented."
    )
    long_context = models.JSONField(
        null=True,
        blank=True,
        help_text='Documented context beyond the config, from the model card: {"native": 32768, '
        '"extended": 131072, "method": "yarn", "factor": 4, "source": "https://..."}.',
    )

    # Derived from ``config`` by the engine on every save; never typed by hand.
    model_type = models.CharField(max_length=50, editable=False)
    architecture = models.CharField(
        max_length=5, choices=[(DENSE, "Dense"), (MOE, "Mixture-of-Experts")], editable=False
    )
    total_params = models.BigIntegerField(editable=False)
    active_params = models.BigIntegerField(editable=False)
    context_length = models.PositiveIntegerField(
        editable=False, help_text="The longest documented context (with rope scaling if needed)."
    )
    native_context = models.PositiveIntegerField(
        default=0, editable=False, help_text="Tokens the model runs without rope-scaling flags."
    )
    native_dtype = models.CharField(max_length=10, editable=False)
    llama_cpp_status = models.CharField(max_length=20, default="supported", editable=False)

    seed_checksum = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LlmModelQuerySet.as_manager()

    class Meta:
        ordering = ["family", "name"]
        verbose_name = "LLM"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._apply(self.parse())
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("calculator:model-detail", args=[self.slug])

    @property
    def is_moe(self) -> bool:
        return self.architecture == self.MOE

    def parse(self) -> Architecture:
        """The engine's view of this row: its config plus its documented long context."""
        return context.with_documented(parse_row_config(self.config), self.long_context)

    def clean(self) -> None:
        try:
            arch = parse_row_config(self.config)
        except EngineError as err:
            raise ValidationError({"config": str(err)}) from err
        try:
            arch = context.with_documented(arch, self.long_context)
        except EngineError as err:
            raise ValidationError({"long_context": str(err)}) from err
        try:
            self.default_quant = canonical_quant(self.default_quant)
            resolve_quant(arch, self.default_quant)
        except EngineError as err:
            raise ValidationError({"default_quant": str(err)}) from err
        self._apply(arch)

    def _apply(self, arch: Architecture) -> None:
        limits = context.limits(arch)
        self.model_type = arch.model_type
        self.architecture = self.MOE if arch.is_moe else self.DENSE
        self.total_params = arch.total_params
        self.active_params = arch.active_params
        self.context_length = limits.extended
        self.native_context = limits.native
        self.native_dtype = arch.native_dtype
        self.llama_cpp_status = arch.llama_cpp_status

    def seed_fields(self) -> dict[str, Any]:
        """The editable fields a data file sets; their checksum detects admin edits."""
        return {f: getattr(self, f) for f in SEED_FIELDS}

    @property
    def edited_since_seed(self) -> bool:
        return bool(self.seed_checksum) and checksum(self.seed_fields()) != self.seed_checksum


SEED_FIELDS = (
    "name", "family", "hf_repo", "release_date", "release_date_source", "summary",
    "popular", "source", "config", "default_quant", "default_quant_source", "long_context",
)  # fmt: skip


class EfficiencyClass(models.Model):
    """Measured decode efficiency (achieved ÷ theoretical bandwidth) of a hardware class."""

    key = models.CharField(max_length=30, unique=True)
    eta = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    overhead_ms = models.FloatField(default=0.0, help_text="Fixed time per generated token.")
    sources = models.JSONField(default=list)
    derivation = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "efficiency classes"

    def __str__(self) -> str:
        return f"{self.key} ({self.eta:.2f})"


class HardwareProfileQuerySet(models.QuerySet["HardwareProfile"]):
    def listed(self) -> HardwareProfileQuerySet:
        return self.select_related("efficiency_class").order_by("position")


class HardwareProfile(models.Model):
    TIERS = [
        ("desktop", "Desktop"),
        ("workstation", "Workstation"),
        ("server", "Server"),
        ("mac", "Mac"),
        ("apu", "Unified-memory PC"),
        ("consumer-gpu", "Consumer GPU"),
        ("pro-gpu", "Workstation GPU"),
        ("datacenter-gpu", "Data-centre GPU"),
    ]

    slug = models.CharField(max_length=100, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=5, choices=[(k, k) for k in KINDS])
    tier = models.CharField(max_length=20, choices=TIERS)
    memory_gb = models.FloatField()
    bandwidth_gbps = models.FloatField()
    efficiency_class = models.ForeignKey(EfficiencyClass, on_delete=models.PROTECT)
    fp16_tflops = models.FloatField(null=True, blank=True)
    gpu_memory_fraction = models.FloatField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    mt_s = models.PositiveIntegerField(null=True, blank=True)
    ddr = models.CharField(max_length=10, blank=True)
    dimm_type = models.CharField(max_length=10, blank=True)
    dimm_slots = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.TextField()
    position = models.PositiveIntegerField(default=0)
    seed_checksum = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HardwareProfileQuerySet.as_manager()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


class SlugRedirect(models.Model):
    """An old model slug that now lives elsewhere (answered with a 301)."""

    old_slug = models.CharField(max_length=100, unique=True)
    model = models.ForeignKey(LlmModel, on_delete=models.CASCADE, related_name="redirects")

    def __str__(self) -> str:
        return f"{self.old_slug} → {self.model.slug}"
