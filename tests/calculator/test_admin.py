import json

import pytest

from calculator.models import LlmModel


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "e@example.com", "pw")
    client.force_login(user)
    return client


def form(config):
    return {
        "name": "Pasted", "slug": "pasted-model", "family": "Test", "hf_repo": "test/pasted",
        "summary": "", "source": "pasted in admin", "config": json.dumps(config),
        "release_date_source": "", "redirects-TOTAL_FORMS": "0", "redirects-INITIAL_FORMS": "0",
    }  # fmt: skip


def test_pasting_a_valid_config_adds_the_model_with_engine_figures(staff_client, catalog):
    config = LlmModel.objects.get(slug="qwen3-8b").config
    response = staff_client.post("/admin/calculator/llmmodel/add/", form(config))
    assert response.status_code == 302
    added = LlmModel.objects.get(slug="pasted-model")
    assert added.total_params == LlmModel.objects.get(slug="qwen3-8b").total_params


def test_pasting_a_broken_config_shows_the_engine_error_on_the_form(staff_client, catalog):
    response = staff_client.post(
        "/admin/calculator/llmmodel/add/", form({"model_type": "llama", "hidden_size": 64})
    )
    assert response.status_code == 200
    assert "num_hidden_layers" in response.content.decode()
    assert not LlmModel.objects.filter(slug="pasted-model").exists()


def test_admin_requires_staff_login(client, catalog):
    response = client.get("/admin/calculator/llmmodel/")
    assert response.status_code == 302 and "/login/" in response["Location"]
