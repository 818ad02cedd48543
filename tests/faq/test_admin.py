import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from calculator.formatting import gb
from faq.models import FaqEntry
from front import seo


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "e@example.com", "pw")
    client.force_login(user)
    return client


def test_override_with_engine_numbers_is_not_flagged(r1):
    head = seo.headline(r1)
    entry = FaqEntry.objects.create(
        model=r1, key="ram", answer=f"Plan for {head.ram_gb} GB ({gb(head.weights_bytes)} weights)."
    )
    assert entry.drift() == []


def test_override_that_drifts_from_the_engine_is_flagged(r1):
    entry = FaqEntry.objects.create(
        model=r1, key="ram", answer="A 512 GB kit; the weights take ~377.4GB at 4-bit."
    )
    assert [p.stated for p in entry.drift()] == ["377.4GB"]


def test_active_parameter_claims_are_checked_against_the_architecture(r1):
    ok = FaqEntry.objects.create(model=r1, key="architecture", answer="MoE with 37B active.")
    bad = FaqEntry.objects.create(model=r1, question="Size?", answer="It has 70B parameters.")
    assert ok.drift() == []
    assert [p.stated for p in bad.drift()] == ["70B"]


def test_changelist_shows_the_drift_column(admin_client, r1):
    FaqEntry.objects.create(model=r1, key="ram", answer="Needs 999 GB.")
    FaqEntry.objects.create(model=r1, key="fits", answer="At 512 GB use the best quant.")
    response = admin_client.get(reverse("admin:faq_faqentry_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "⚠ 1 drifted" in html and "✓ agree" in html


def test_drift_filter_lists_only_drifted_entries(admin_client, r1):
    FaqEntry.objects.create(model=r1, key="ram", answer="Needs 999 GB.")
    FaqEntry.objects.create(model=r1, question="Open?", answer="Yes.")
    html = admin_client.get(reverse("admin:faq_faqentry_changelist") + "?drift=yes").content
    assert b"RAM at popular quants" in html
    assert b"Open?" not in html


def test_change_form_shows_the_generated_answer_and_the_check(admin_client, r1):
    entry = FaqEntry.objects.create(model=r1, key="ram", answer="<b>Needs</b> 999 GB.")
    html = admin_client.get(reverse("admin:faq_faqentry_change", args=[entry.pk])).content
    assert b"How much RAM does DeepSeek R1 need?" in html
    assert "“999 GB” but the engine says".encode() in html
    assert b"<b>Needs</b>" not in html.replace(b"&lt;b&gt;Needs&lt;/b&gt;", b"")


def test_saving_a_drifting_override_warns_the_editor(admin_client, r1):
    response = admin_client.post(
        reverse("admin:faq_faqentry_add"),
        {"model": r1.pk, "key": "ram", "question": "", "answer": "Needs 999 GB.",
         "position": 0, "is_published": "on"},
        follow=True,
    )  # fmt: skip
    assert "Numbers that disagree with the engine" in response.content.decode()
    assert FaqEntry.objects.filter(model=r1, key="ram").exists()


def test_model_keys_need_a_model_and_site_keys_need_none(r1):
    with pytest.raises(ValidationError):
        FaqEntry(key="ram", answer="x").full_clean()
    with pytest.raises(ValidationError):
        FaqEntry(model=r1, key="quantization", answer="x").full_clean()
    with pytest.raises(ValidationError):
        FaqEntry(model=r1, answer="an added entry needs a question").full_clean()
    FaqEntry(key="quantization", answer="Fewer bits per weight.").full_clean()


def test_one_override_per_model_answer(r1):
    FaqEntry.objects.create(model=r1, key="ram", answer="a")
    with pytest.raises(IntegrityError):
        FaqEntry.objects.create(model=r1, key="ram", answer="b")
