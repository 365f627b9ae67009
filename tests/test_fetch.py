"""Fetching digests from a local server that replays recorded API responses (never the internet)."""
from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from site_src import cli, fetch
from site_src.ingest import digest_id
from site_src.readers import arxiv_atom, hf_json
from tests.conftest import DIGESTS, FIXTURES

HERE = FIXTURES / "fetch"
HF_PAGE_0 = (DIGESTS / "hf-daily-2026-05-29.json").read_bytes()
HF_PAGE_1 = (HERE / "hf-2026-05-29-p1.json").read_bytes()
ARXIV_PAGE_0 = (HERE / "arxiv-page-0.atom").read_bytes()
ARXIV_PAGE_1 = (HERE / "arxiv-page-1.atom").read_bytes()
ARXIV_EMPTY = (FIXTURES / "arxiv" / "empty-page.atom").read_bytes()
ARXIV_ERROR = (FIXTURES / "arxiv" / "error.atom").read_bytes()
TODAY = dt.date(2026, 5, 30)


@dataclass
class Reply:
    """One recorded answer: a status, a body, and how to misbehave while sending it."""

    body: bytes = b""
    status: int = 200
    delay: float = 0.0
    """Seconds to wait before answering (longer than the client's timeout = a slow server)."""
    announce: int | None = None
    """Content-Length to claim; more than len(body) makes a truncated response."""


@dataclass
class Recorded:
    """Replies by (path, page), used in order; the last one repeats. Requests are logged."""

    url: str = ""
    replies: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def on(self, path: str, page: str, *replies: Reply) -> None:
        self.replies[(path, page)] = list(replies)

    def next_reply(self, path: str, query: dict[str, list[str]]) -> Reply:
        page = (query.get("p") or query.get("start") or ["0"])[0]
        queue = self.replies.get((path, page))
        if not queue:
            return Reply(b"not found", status=404)
        return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(http.server.BaseHTTPRequestHandler):
    recorded: Recorded

    def do_GET(self):  # noqa: N802 - the name http.server calls
        parts = urllib.parse.urlsplit(self.path)
        self.recorded.requests.append(self.path)
        reply = self.recorded.next_reply(parts.path, urllib.parse.parse_qs(parts.query))
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(reply.announce or len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(reply.body)
        self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1 (free port) replaying what a test records."""
    recorded = Recorded()
    handler = type("Handler", (_Handler,), {"recorded": recorded})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False  # a deliberately slow reply must not hold up teardown
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield recorded
    finally:
        httpd.shutdown()
        httpd.server_close()


class Sleeps(list):
    """A stand-in for time.sleep that records how long it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def quick(**options) -> fetch.HttpSettings:
    return fetch.HttpSettings(**{"timeout": 2.0, "retries": 2, "backoff": 1.0,
                                 "sleep": Sleeps(), **options})


def run_cli(root: Path, *argv: str) -> int:
    return cli.main(["--root", str(root), "fetch", *argv])


def paper_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "content" / "papers").glob("*.md"))


@pytest.fixture
def project(tmp_path):
    (tmp_path / "content" / "papers").mkdir(parents=True)
    (tmp_path / "content" / "digests").mkdir()
    return tmp_path


# --------------------------------------------------------------------- Hugging Face

def test_hf_fetch_follows_pages_until_a_short_page(server):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_0))
    server.on("/api/daily_papers", "1", Reply(HF_PAGE_1))
    fetched = fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29), limit=8, settings=quick())
    assert server.requests == ["/api/daily_papers?date=2026-05-29&p=0&limit=8",
                               "/api/daily_papers?date=2026-05-29&p=1&limit=8"]
    assert (fetched.name, fetched.entries, fetched.digest_date) == (
        "hf-daily-2026-05-29.json", 10, None)
    items = json.loads(fetched.data)
    assert items[:8] == json.loads(HF_PAGE_0) and items[8:] == json.loads(HF_PAGE_1)


def test_hf_fetch_of_a_week_asks_for_the_week_and_dates_the_digest_by_its_monday(server):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_1))
    fetched = fetch.fetch_hf(server.url + "/", week="2026-W22", settings=quick())
    assert server.requests == ["/api/daily_papers?week=2026-W22&p=0&limit=50"]
    assert (fetched.name, fetched.digest_date) == ("hf-week-2026-W22.json", dt.date(2026, 5, 25))


def test_hf_fetch_stops_when_the_server_ignores_the_page_number(server):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_0))
    server.on("/api/daily_papers", "1", Reply(HF_PAGE_0))
    fetched = fetch.fetch_hf(server.url, month="2026-05", limit=8, settings=quick())
    assert fetched.entries == 8 and len(server.requests) == 2


def test_a_500_then_success_is_retried_after_a_backoff(server):
    server.on("/api/daily_papers", "0", Reply(b"oops", status=500), Reply(HF_PAGE_1))
    settings = quick()
    fetched = fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29), settings=settings)
    assert fetched.entries == 2
    assert settings.sleep == [1.0] and len(server.requests) == 2


def test_a_persistent_500_fails_with_a_clear_error_after_exponential_backoff(server):
    server.on("/api/daily_papers", "0", Reply(b"down", status=503))
    settings = quick(retries=3, backoff=2.0)
    with pytest.raises(fetch.FetchError) as caught:
        fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29), settings=settings)
    assert "HTTP 503" in str(caught.value) and "gave up after 4 attempt(s)" in str(caught.value)
    assert settings.sleep == [2.0, 4.0, 8.0] and len(server.requests) == 4


def test_a_client_error_is_not_retried(server):
    settings = quick()
    with pytest.raises(fetch.FetchError, match="answered HTTP 404"):
        fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29), settings=settings)
    assert settings.sleep == [] and len(server.requests) == 1


def test_a_slow_answer_times_out_and_is_retried(server):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_1, delay=1.0), Reply(HF_PAGE_1))
    started = time.perf_counter()
    fetched = fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29),
                             settings=quick(timeout=0.3, retries=1))
    assert fetched.entries == 2 and len(server.requests) == 2
    assert time.perf_counter() - started < 1.0


def test_a_server_that_stays_slow_is_a_timeout_error(server):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_1, delay=1.0))
    with pytest.raises(fetch.FetchError, match=r"no answer within 0.3 s \(gave up after 1"):
        fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29),
                       settings=quick(timeout=0.3, retries=0))


def test_a_body_shorter_than_announced_is_a_cut_off_error(server):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_0[:500], announce=len(HF_PAGE_0)))
    with pytest.raises(fetch.FetchError, match="cut off after 500 bytes"):
        fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29), settings=quick(retries=1))
    assert len(server.requests) == 2


def test_truncated_json_is_reported_as_not_what_was_expected(server):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_0[:700]))
    with pytest.raises(fetch.FetchError, match=r"not valid JSON \(the response looks cut off\)"):
        fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29), settings=quick())


@pytest.mark.parametrize("body, reason", [
    (b'{"error": "Invalid date"}', "expected a JSON list of daily papers, got a JSON dict"),
    (b'[{"title": "no paper"}]', "item 0 is not a daily-paper item with paper.id"),
    (b"<html>maintenance</html>", "not valid JSON"),
])
def test_a_response_of_another_shape_is_refused(server, body, reason):
    server.on("/api/daily_papers", "0", Reply(body))
    with pytest.raises(fetch.FetchError, match=reason):
        fetch.fetch_hf(server.url, date=dt.date(2026, 5, 29), settings=quick())


def test_the_period_options_are_checked():
    with pytest.raises(ValueError, match="exactly one"):
        fetch.hf_period()
    with pytest.raises(ValueError, match="ISO week"):
        fetch.hf_period(week="2026-W54")
    with pytest.raises(ValueError, match="month like"):
        fetch.hf_period(month="2026-13")


# --------------------------------------------------------------------- arXiv

def test_arxiv_fetch_pages_with_start_and_max_results_and_waits_between_requests(server):
    server.on("/api/query", "0", Reply(ARXIV_PAGE_0))
    server.on("/api/query", "2", Reply(ARXIV_PAGE_1))
    settings = quick()
    fetched = fetch.fetch_arxiv(server.url + "/api/query", "ti:robust", max_results=3,
                                page_size=2, today=TODAY, settings=settings)
    assert [urllib.parse.parse_qs(urllib.parse.urlsplit(r).query) for r in server.requests] == [
        {"search_query": ["ti:robust"], "start": ["0"], "max_results": ["2"],
         "sortBy": ["submittedDate"], "sortOrder": ["descending"]},
        {"search_query": ["ti:robust"], "start": ["2"], "max_results": ["1"],
         "sortBy": ["submittedDate"], "sortOrder": ["descending"]},
    ]
    assert settings.sleep == [fetch.ARXIV_DELAY] == [3.0]
    assert (fetched.name, fetched.entries, fetched.digest_date) == (
        "arxiv-ti-robust-2026-05-30.atom", 3, TODAY)
    result = arxiv_atom.parse(fetched.data.decode(), source=fetched.name, today=TODAY)
    assert [p.id for p in result.papers] == ["2605.40001", "2605.40002", "hep-th/9901001"]
    assert result.problems == ()


def test_arxiv_fetch_stops_at_max_even_when_more_results_exist(server):
    server.on("/api/query", "0", Reply(ARXIV_PAGE_0))
    fetched = fetch.fetch_arxiv(server.url + "/api/query", "ti:robust", max_results=2,
                                page_size=2, today=TODAY, settings=quick())
    assert fetched.entries == 2 and len(server.requests) == 1


def test_an_empty_arxiv_page_inside_the_results_is_asked_for_again(server):
    server.on("/api/query", "0", Reply(ARXIV_EMPTY), Reply(ARXIV_PAGE_0))
    settings = quick()
    fetched = fetch.fetch_arxiv(server.url + "/api/query", "ti:robust", max_results=2,
                                page_size=2, today=TODAY, settings=settings)
    assert fetched.entries == 2 and settings.sleep == [3.0]


def test_arxiv_pages_that_stay_empty_fail(server):
    server.on("/api/query", "0", Reply(ARXIV_EMPTY))
    with pytest.raises(fetch.FetchError, match="reports 37211 results but sent no entries"):
        fetch.fetch_arxiv(server.url + "/api/query", "cat:cs.LG", today=TODAY,
                          settings=quick(retries=1))


def test_an_arxiv_error_entry_is_a_fetch_error_with_its_message(server):
    server.on("/api/query", "0", Reply(ARXIV_ERROR))
    with pytest.raises(fetch.FetchError, match="incorrect id format for 1234.12345"):
        fetch.fetch_arxiv(server.url + "/api/query", "id:1234.12345", today=TODAY,
                          settings=quick())


def test_a_truncated_arxiv_feed_is_refused(server):
    server.on("/api/query", "0", Reply(ARXIV_PAGE_0[:900]))
    with pytest.raises(fetch.FetchError, match="not well-formed XML"):
        fetch.fetch_arxiv(server.url + "/api/query", "ti:robust", today=TODAY, settings=quick())


# --------------------------------------------------------------------- the command

def test_fetch_hf_saves_the_raw_digest_and_ingests_it(server, project, capsys):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_0))
    server.on("/api/daily_papers", "1", Reply(HF_PAGE_1))
    code = run_cli(project, "hf", "--date", "2026-05-29", "--hf-url", server.url, "--limit", "8",
                   "--today", "2026-05-30")
    assert code == 0, capsys.readouterr().err
    saved = project / "content" / "digests" / "fetched" / "hf-daily-2026-05-29.json"
    result = hf_json.parse(saved.read_text(encoding="utf-8"), source=saved.name, today=TODAY)
    assert len(result.papers) == 10 and result.digest.date == dt.date(2026, 5, 29)
    assert len(paper_files(project)) == 10
    records = sorted((project / "content" / "digests").glob("*.yaml"))
    assert [r.name for r in records] == [f"{digest_id(dt.date(2026, 5, 29), saved.name)}.yaml"]
    assert "fetched 10 paper(s) in 2 request(s)" in capsys.readouterr().out


def test_fetch_takes_the_base_url_from_the_environment(server, project, monkeypatch):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_1))
    monkeypatch.setenv(fetch.HF_URL_ENV, server.url)
    assert run_cli(project, "hf", "--date", "2026-05-29", "--no-ingest") == 0
    assert (project / "content" / "digests" / "fetched" / "hf-daily-2026-05-29.json").exists()
    assert paper_files(project) == []


def test_a_failed_fetch_writes_nothing_and_exits_1(server, project, capsys):
    server.on("/api/daily_papers", "0", Reply(HF_PAGE_0), Reply(HF_PAGE_0))
    server.on("/api/daily_papers", "1", Reply(b"down", status=500))
    code = run_cli(project, "hf", "--date", "2026-05-29", "--hf-url", server.url, "--limit", "8",
                   "--retries", "1", "--backoff", "0")
    assert code == 1
    assert "HTTP 500" in capsys.readouterr().err
    assert paper_files(project) == []
    assert list((project / "content").rglob("*.json")) == []


def test_fetch_arxiv_saves_and_ingests_with_the_delay_option(server, project, capsys):
    server.on("/api/query", "0", Reply(ARXIV_PAGE_0))
    server.on("/api/query", "2", Reply(ARXIV_PAGE_1))
    code = run_cli(project, "arxiv", "--query", "ti:robust", "--max", "3", "--page-size", "2",
                   "--delay", "0", "--arxiv-url", server.url + "/api/query", "--today", "2026-05-30")
    assert code == 0, capsys.readouterr().err
    assert (project / "content" / "digests" / "fetched" / "arxiv-ti-robust-2026-05-30.atom").exists()
    assert len(paper_files(project)) == 3


def test_a_bad_base_url_or_period_is_a_usage_error(project, capsys):
    assert run_cli(project, "hf", "--week", "2026-22", "--hf-url", "http://127.0.0.1:9") == 2
    with pytest.raises(SystemExit) as caught:
        run_cli(project, "hf", "--date", "2026-05-29", "--limit", "500")
    assert caught.value.code == 2 and "at most 100" in capsys.readouterr().err
    assert run_cli(project, "hf", "--date", "2026-05-29", "--hf-url", "file:///etc") == 1
    assert "not an http(s) base URL" in capsys.readouterr().err
