from django.urls import reverse

from calculator import services
from calculator.models import HardwareProfile, LlmModel
from tests.catalog.factories import MemoryKitFactory

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _urls(client):
    import xml.etree.ElementTree as ET

    response = client.get(reverse("sitemap"))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    return {
        u.find(f"{NS}loc").text: getattr(u.find(f"{NS}lastmod"), "text", None)
        for u in root.iter(f"{NS}url")
    }


def test_sitemap_lists_every_model_page_and_model_faq_with_lastmod(client, catalog):
    urls = _urls(client)
    models = list(LlmModel.objects.published())
    assert models
    for model in models:
        page = f"http://testserver{model.get_absolute_url()}"
        faq = f"http://testserver{reverse('faq:model-faq', args=[model.slug])}"
        assert page in urls and faq in urls
        assert urls[page] == model.updated_at.date().isoformat()


def test_sitemap_lists_hardware_pages_the_faq_and_static_pages(client, catalog):
    urls = _urls(client)
    for profile in HardwareProfile.objects.all():
        assert (
            f"http://testserver{reverse('calculator:hardware-detail', args=[profile.slug])}" in urls
        )
    for name in ("faq:index", "calculator:home", "calculator:methodology", "catalog:kit-list"):
        assert f"http://testserver{reverse(name)}" in urls


def test_sitemap_lists_active_kits_only(client, catalog):
    kit = MemoryKitFactory()
    retired = MemoryKitFactory()
    retired.retire()
    urls = _urls(client)
    assert f"http://testserver{kit.get_absolute_url()}" in urls
    assert f"http://testserver{retired.get_absolute_url()}" not in urls


def test_sitemap_leaves_out_unpublished_models(client, catalog):
    hidden = LlmModel.objects.get(slug="deepseek-r1")
    hidden.published = False
    hidden.save()
    assert f"http://testserver{hidden.get_absolute_url()}" not in _urls(client)


def test_robots_txt_names_the_sitemap(client, db):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in body
    assert "Disallow: /admin/" in body


def test_sitemap_lists_the_build_list_and_every_preset_build(client, hardware):
    urls = _urls(client)
    assert any(u.endswith(reverse("calculator:build-list")) for u in urls)
    for build in services.preset_builds(hardware):
        path = reverse("calculator:build-detail", args=[build.slug])
        assert any(u.endswith(path) for u in urls), build.slug
