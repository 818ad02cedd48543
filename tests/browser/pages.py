"""Every public page a visitor can land on, for the layout and accessibility sweeps."""

from catalog.models import MemoryKit

R1 = "/models/deepseek-r1/"


def public_pages() -> list[str]:
    kit = MemoryKit.objects.active().order_by("capacity_gb").first()
    return [
        "/",
        "/models/",
        "/models/?q=deepsek",
        R1,
        R1 + "?quant=Q8_0&context=32k",
        "/models/gpt-oss-120b/",
        R1 + "faq/",
        "/hardware/",
        "/hardware/?memory_gb=64",
        "/hardware/rtx-4090/",
        "/compare/",
        "/compare/?models=deepseek-r1,qwen3-32b,gpt-oss-120b",
        "/compare/?models=deepsek",
        "/methodology/",
        "/kits/",
        kit.get_absolute_url() if kit else "/kits/",
        "/faq/",
        "/models/deepseek-r1-0528/",  # the 404 page, with suggestions
    ]
