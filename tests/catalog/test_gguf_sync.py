"""The Hub sync of GGUF repositories, against a loopback Hub (never the real one): split
files grouped, folders renamed, a 404 repository, 429 with Retry-After, malformed JSON
and a 10 MB listing. Every case records its run and keeps the files listed before."""

import pytest

from calculator.models import LlmModel
from catalog import gguf_services
from catalog.models import GgufFile, GgufRepository, GgufSyncRun
from catalog.ratelimit import LocalThrottle, RedisTokenBucket
from catalog.sources import Deadline
from catalog.tasks import sync_gguf_repository

from .conftest import Reply
from .hub_server import SHA, FakeHub, huge_listing, listing, malformed, not_found

REPO = "unsloth/DeepSeek-R1-GGUF"
SPLIT = {
    f"DeepSeek-R1-UD-Q2_K_XL/DeepSeek-R1-UD-Q2_K_XL-0000{i}-of-00005.gguf": size
    for i, size in enumerate([49_800_000_123, 50_000_000_001, 50_000_000_002, 50_000_000_003,
                              26_800_000_004], start=1)
}  # fmt: skip
SINGLE = {"DeepSeek-R1-UD-IQ1_S.gguf": 131_000_000_000, "README.md": 12_000, ".gitattributes": 2}
TOTAL_Q2 = sum(SPLIT.values())


@pytest.fixture
def hub(monkeypatch):
    server = FakeHub()
    server.thread.start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def repository(site_data):
    repo = GgufRepository(repo_id=REPO, model=LlmModel.objects.get(slug="deepseek-r1"))
    repo.full_clean()
    repo.save()
    return repo


def sync(repository, **kwargs):
    kwargs.setdefault("deadline", Deadline(20))
    return gguf_services.gguf_sync_run(repository_id=repository.pk, **kwargs)


def labels(repository):
    return dict(GgufFile.objects.filter(repository=repository).values_list("label", "total_bytes"))


def test_split_parts_are_one_download_with_their_total(hub, repository):
    hub.serve(REPO, listing(REPO, {**SPLIT, **SINGLE}))
    outcome = sync(repository)
    run = outcome.run
    assert run.reason == ""
    assert (run.status, run.files_seen, run.files_added, run.commit) == ("succeeded", 2, 2, SHA)
    q2 = GgufFile.objects.get(repository=repository, label="UD-Q2_K_XL")
    assert q2.part_count == 5 and q2.total_bytes == TOTAL_Q2
    assert q2.path.endswith("-00001-of-00005.gguf") and q2.size_precision == "exact"
    assert q2.url == f"https://huggingface.co/{REPO}/blob/{SHA}/{q2.path}"
    assert labels(repository)["UD-IQ1_S"] == 131_000_000_000
    assert hub.requests[0]["query"] == "blobs=true"  # model_info(files_metadata=True)


def test_a_second_run_is_idempotent(hub, repository):
    hub.serve(REPO, listing(REPO, {**SPLIT, **SINGLE}))
    sync(repository)
    before = list(GgufFile.objects.values_list("pk", "label", "total_bytes", "first_seen"))
    run = sync(repository).run
    assert (run.status, run.files_added, run.files_changed) == ("succeeded", 0, 0)
    assert list(GgufFile.objects.values_list("pk", "label", "total_bytes", "first_seen")) == before


def test_a_renamed_folder_moves_the_file_and_keeps_its_row(hub, repository):
    hub.serve(REPO, listing(REPO, SPLIT))
    sync(repository)
    first = GgufFile.objects.get(label="UD-Q2_K_XL")
    renamed = {
        path.replace("DeepSeek-R1-UD-Q2_K_XL/", "UD-Q2_K_XL/"): s for path, s in SPLIT.items()
    }
    hub.serve(REPO, listing(REPO, renamed, sha="f" * 40))
    run = sync(repository).run
    moved = GgufFile.objects.get(label="UD-Q2_K_XL")
    assert (run.status, run.files_changed, run.files_added) == ("succeeded", 1, 0)
    assert moved.pk == first.pk and moved.first_seen == first.first_seen
    assert moved.path.startswith("UD-Q2_K_XL/") and moved.commit == "f" * 40


def test_a_missing_file_is_gone_only_after_three_runs_agree(hub, repository):
    hub.serve(REPO, listing(REPO, {**SPLIT, **SINGLE}))
    sync(repository)
    hub.serve(REPO, listing(REPO, SPLIT))
    for expected_gone in (False, False, True):
        run = sync(repository).run
        assert run.status == "warning" and run.files_missing == 1
        gone = GgufFile.objects.get(label="UD-IQ1_S").gone_at is not None
        assert gone is expected_gone
    assert [f.label for f in GgufFile.objects.listed()] == ["UD-Q2_K_XL"]


@pytest.mark.parametrize(
    "reply, reason",
    [
        (not_found(), "no such repository"),
        (malformed(), "unreadable reply"),
        (Reply(200, {"id": REPO, "sha": SHA, "siblings": "nope"}), ""),
        (Reply(200, {"id": REPO, "sha": "not-a-sha", "siblings": []}), "listing shape"),
        (Reply(500, {"error": "boom"}), "HTTP 500"),
    ],
    ids=["404", "malformed-json", "wrong-shape", "bad-sha", "server-error"],
)
def test_a_bad_reply_fails_the_run_and_keeps_earlier_files(hub, repository, reply, reason):
    hub.serve(REPO, listing(REPO, {**SPLIT, **SINGLE}), reply)
    sync(repository)
    before = labels(repository)
    run = sync(repository).run
    assert run.status == "failed" and run.finished_at is not None
    assert reason in run.reason
    assert labels(repository) == before
    assert GgufFile.objects.listed().count() == 2


def test_a_429_honours_retry_after_and_keeps_earlier_files(hub, repository):
    hub.serve(
        REPO,
        listing(REPO, SPLIT),
        Reply(429, {"error": "slow down"}, headers={"Retry-After": "600"}),
    )
    sync(repository)
    outcome = sync(repository)
    assert outcome.retry and outcome.retry_after == 600
    assert outcome.run.status == "failed" and "Retry-After: 600" in outcome.run.reason
    assert labels(repository) == {"UD-Q2_K_XL": TOTAL_Q2}
    calls = hub.listing_hits(REPO)
    # The pause is shared: the next run does not call the Hub again before it ends.
    again = sync(repository)
    assert again.retry and again.retry_after > 500
    assert hub.listing_hits(REPO) == calls
    assert GgufSyncRun.objects.filter(repository=repository).count() == 3


def test_a_10_mb_listing_is_refused_unread_and_keeps_earlier_files(hub, repository):
    big = huge_listing(REPO, megabytes=10)
    assert len(big.body) > 10_000_000
    hub.serve(REPO, listing(REPO, SPLIT), big)
    sync(repository)
    run = sync(repository).run
    assert run.status == "failed" and "larger than" in run.reason
    assert labels(repository) == {"UD-Q2_K_XL": TOTAL_Q2}
    assert GgufFile.objects.get(label="UD-Q2_K_XL").missed_runs == 0


def test_a_listing_without_gguf_files_warns_and_keeps_them(hub, repository):
    hub.serve(REPO, listing(REPO, SPLIT), listing(REPO, {"README.md": 100}))
    sync(repository)
    run = sync(repository).run
    assert run.status == "warning" and "no GGUF download" in run.reason
    assert GgufFile.objects.get(label="UD-Q2_K_XL").missed_runs == 0


def test_an_incomplete_split_is_listed_without_a_size(hub, repository):
    parts = dict(list(SPLIT.items())[:4])
    hub.serve(REPO, listing(REPO, parts))
    sync(repository)
    q2 = GgufFile.objects.get(label="UD-Q2_K_XL")
    assert q2.total_bytes is None and q2.size_precision == "unknown"
    assert "4 of 5 parts" in q2.note


def test_a_second_sync_of_the_same_repository_is_refused_while_the_lease_is_held(hub, repository):
    hub.serve(REPO, listing(REPO, SPLIT))
    from django.utils import timezone

    assert GgufRepository.objects.acquire_sync_lease(
        repository_id=repository.pk, holder="other", seconds=300, now=timezone.now()
    )
    run = sync(repository).run
    assert run.status == "refused" and hub.listing_hits(REPO) == 0


def test_the_token_comes_from_the_environment_only(hub, repository, monkeypatch):
    hub.serve(REPO, listing(REPO, SPLIT))
    sync(repository)

    def authorization():
        headers = {k.lower(): v for k, v in hub.requests[-1]["headers"].items()}
        return headers.get("authorization")

    assert authorization() is None
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    sync(repository)
    assert authorization() == "Bearer hf_test_token"


def test_an_http_endpoint_off_loopback_is_refused(repository, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.example")
    run = sync(repository).run
    assert run.status == "failed" and "https" in run.reason


def test_due_repositories_skip_recent_and_running_ones(hub, repository):
    hub.serve(REPO, listing(REPO, SPLIT))
    assert gguf_services.gguf_repositories_due() == [repository.pk]
    sync(repository)
    assert gguf_services.gguf_repositories_due() == []


@pytest.fixture(autouse=True)
def _no_hub_pause_between_tests():
    LocalThrottle._paused_until.pop(gguf_services.HUB_THROTTLE, None)
    yield
    LocalThrottle._paused_until.pop(gguf_services.HUB_THROTTLE, None)


def test_the_task_shares_the_hubs_retry_after_so_its_retries_do_not_call_again(
    hub, repository, test_redis
):
    """The Celery task (called directly, its retries run in place): a 429 with
    Retry-After: 600 pauses the Hub for every worker (a Redis bucket), so the retries end
    at once, recorded, without another request."""
    hub.serve(REPO, Reply(429, {"error": "slow down"}, headers={"Retry-After": "600"}))
    sync_gguf_repository.apply(args=[repository.pk])
    assert hub.listing_hits(REPO) == 1
    runs = list(GgufSyncRun.objects.filter(repository=repository))
    assert len(runs) >= 2 and all(r.status == "failed" for r in runs)
    assert all("600" in r.reason or "Retry-After" in r.reason for r in runs)
    paused = RedisTokenBucket(gguf_services.HUB_THROTTLE, 1.0).paused_for()
    assert 500 < paused <= 600
