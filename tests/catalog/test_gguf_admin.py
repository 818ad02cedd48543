"""Editors register GGUF repositories per model in the admin and can list them now."""

import pytest
from django.contrib.auth import get_user_model

from calculator.models import LlmModel
from catalog.models import GgufFile, GgufRepository
from tests.catalog.hub_server import FakeHub, listing

REPO = "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"


@pytest.fixture
def editor_client(client, site_data):
    user = get_user_model().objects.create_superuser("editor", "e@example.com", "pw")
    client.force_login(user)
    return client


def test_an_editor_registers_a_repository_by_its_url(editor_client):
    model = LlmModel.objects.get(slug="llama-3.1-8b-instruct")
    response = editor_client.post(
        "/admin/catalog/ggufrepository/add/",
        {"repo_id": f"https://huggingface.co/{REPO}", "model": model.pk, "position": 10,
         "is_active": "on", "notes": "", "files-TOTAL_FORMS": 0, "files-INITIAL_FORMS": 0},
    )  # fmt: skip
    assert response.status_code == 302
    repo = GgufRepository.objects.get()
    assert (repo.repo_id, repo.publisher) == (REPO, "bartowski")


def test_list_files_now_runs_the_sync_and_says_what_it_found(editor_client, monkeypatch):
    hub = FakeHub()
    hub.thread.start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    try:
        hub.serve(REPO, listing(REPO, {"Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf": 4920739232}))
        repo = GgufRepository.objects.create(
            repo_id=REPO, model=LlmModel.objects.get(slug="llama-3.1-8b-instruct")
        )
        response = editor_client.post(
            "/admin/catalog/ggufrepository/",
            {"action": "sync_now", "_selected_action": [repo.pk]},
            follow=True,
        )
    finally:
        hub.httpd.shutdown()
        hub.httpd.server_close()
    assert "Succeeded, 1 files (1 new" in response.content.decode()
    assert GgufFile.objects.get().total_bytes == 4920739232
