"""Read queries the pages need, on top of the models' QuerySet vocabulary.

Views call these instead of chaining ``.filter(...)`` with schema knowledge.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from calculator.models import LlmModel, SlugRedirect

# Total-parameter buckets for the model index ("size" filter), in billions.
SIZE_BUCKETS: dict[str, tuple[str, float, float]] = {
    "small": ("Under 10B", 0, 10e9),
    "medium": ("10B – 40B", 10e9, 40e9),
    "large": ("40B – 150B", 40e9, 150e9),
    "huge": ("Over 150B", 150e9, float("inf")),
}


def models(
    *,
    query: str = "",
    family: str = "",
    architecture: str = "",
    size: str = "",
) -> QuerySet[LlmModel]:
    qs = LlmModel.objects.published()
    for word in query.split()[:6]:
        qs = qs.filter(
            Q(name__icontains=word) | Q(slug__icontains=word) | Q(hf_repo__icontains=word)
            | Q(family__icontains=word)
        )  # fmt: skip
    if family:
        qs = qs.filter(family=family)
    if architecture:
        qs = qs.filter(architecture=architecture)
    if size in SIZE_BUCKETS:
        _, low, high = SIZE_BUCKETS[size]
        qs = qs.filter(total_params__gte=low)
        if high != float("inf"):
            qs = qs.filter(total_params__lt=high)
    return qs.order_by("-total_params", "name")


def families() -> list[str]:
    return list(
        LlmModel.objects.published().order_by("family").values_list("family", flat=True).distinct()
    )


def popular_models() -> QuerySet[LlmModel]:
    return LlmModel.objects.popular().order_by("-total_params")


def models_by_slugs(slugs: list[str]) -> list[LlmModel]:
    """Published models in the order asked for (unknown slugs are skipped)."""
    found = {m.slug: m for m in LlmModel.objects.published().filter(slug__in=slugs)}
    return [found[s] for s in slugs if s in found]


def redirect_target(old_slug: str) -> LlmModel | None:
    row = SlugRedirect.objects.select_related("model").filter(old_slug=old_slug.lower()).first()
    return row.model if row and row.model.published else None


def search(query: str, limit: int = 8) -> list[LlmModel]:
    """Models matching any word of ``query`` (for "did you mean" on the 404 page)."""
    words = [w for w in query.replace("-", " ").replace("_", " ").split() if len(w) > 1][:6]
    if not words:
        return []
    cond = Q()
    for word in words:
        cond |= Q(name__icontains=word) | Q(slug__icontains=word)
    return list(LlmModel.objects.published().filter(cond).order_by("-popular", "name")[:limit])
