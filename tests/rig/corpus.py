"""A mixed-Unicode text of 1,000 characters (339 distinct) for delivery tests and benchmarks."""

from __future__ import annotations

PARTS = (
    "Crème brûlée, naïve café, Ångström, façade, jalapeño, Dvořák, Łódź, Øresund, São Paulo, Zürich, "
    "straße, Þórshöfn, İstanbul, Ærøskøbing, Mañana, cliché, résumé, coöperate, e\u0301 (combining). ",
    "“Curly double” and ‘single’ quotes — an em dash – an en dash … ellipsis; «guillemets» „low“ ‹›, "
    "primes ′ ″, bullet • and middle dot ·, non-breaking\u00a0space. ",
    "日本語のテキスト、漢字とひらがなとカタカナ。中文输入测试：你好，世界！繁體中文也可以。한국어 문장도 있습니다. ",
    "Emoji 😀😂🥲🤖👍🏽👋🏿 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🏴‍☠️ ❤️ ✌🏻 🇩🇪🇯🇵🇺🇸🇧🇷🇺🇦 ✨🔥🎉🚀🌍. ",
    "Symbols € £ ¥ ₹ ₽ © ® ™ ° ± × ÷ ≠ ≤ ≥ ≈ ∞ √ π Ω µ ∑ ∫ ∂ ∆ → ← ↑ ↓ ⇒ ⇔ ♥ ♪ ★ ✓ ✗ § ¶ † ‡ ‰ ½ ¾ ² ³. ",
    "Ελληνικά: αβγδ εζηθ, кириллица: привет мир, עברית שלום, العربية مرحبا, हिन्दी नमस्ते, ไทย สวัสดี, "
    "Tiếng Việt: Xin chào, ქართული, Հայերեն. ",
    "Plain ASCII: The quick brown fox jumps over the lazy dog 0123456789 !@#$%^&*()_+-=[]{};':\",./<>?`~|\\ ",
    "Mixed again: naïve “quotes” — 東京 🗼 and São Paulo 🇧🇷; ½ cup of crème fraîche at 180 °C, ≈ 20 min. ",
    "Zum Schluss: Grüße aus Köln, ¡Hola! ¿Qué tal? Ça va très bien, merci. Dziękuję, Ďakujem, Paldies. Ende ✓.",
)

CORPUS = "".join(PARTS)

assert len(CORPUS) == 1000, len(CORPUS)
