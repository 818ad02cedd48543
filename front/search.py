"""Finding a model from what people type: typos (``deepsek``), spacing and punctuation
(``llama3.1 70b``), nicknames (``R1``), Hugging Face repository names
(``deepseek-ai/DeepSeek-R1``) and releases we do not list (``DeepSeek-R1-0528`` finds
DeepSeek R1 as the closest model). The search box, the 404 page's suggestions and the
compare page all ask here.

Each model is known by a few *names*: its name, slug, repository id, the repository's
own name and its nicknames (``data/search_aliases.json``). A name and a query are
*normalized* the same way (lower case, punctuation as spaces, letters and digits apart:
``Llama-3.1-70B`` → ``llama 3.1 70 b``). A model's score is that of its best name:

* each word of the query is matched to its closest word of the name (rapidfuzz's
  normalized similarity; a number must match exactly: ``3.3`` is not ``3.1``, ``70``
  is not ``8``), and the word scores are averaged;
* the query and the name without spaces are compared whole too (``deepseekr1``), and
  the better of the two counts (the whole comparison only when every number of the
  query is in the name, so ``qwen 30b`` is not ``Qwen3 0.6B``).

A query's packaging words (``GGUF``, ``AWQ``, ``MLX``…, listed with the nicknames) and a
repository owner other than the model's (``unsloth/DeepSeek-R1-GGUF``) are left out:
they name a file of the model, not another model.

Ties go to popular models, then to the model whose matching name the query covers
most completely (the nickname ``deepseek`` → R1 beats ``DeepSeek V3.2`` for
``deepsek``), then to larger ones. Only rapidfuzz's C matchers run per
word, so a search over the catalog costs about a millisecond.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from calculator.models import LlmModel

ALIASES_FILE = Path(__file__).resolve().parent / "data" / "search_aliases.json"
MAX_WORDS = 8
MAX_QUERY = 100  # characters; the search form's limit
SEARCH_CUTOFF = 70.0  # a result of the search box
SUGGEST_CUTOFF = 55.0  # "did you mean" (the visitor's name matched nothing exactly)

_PUNCTUATION = re.compile(r"[^a-z0-9.]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def normalize(text: str) -> str:
    """``"deepseek-ai/DeepSeek-R1"`` → ``"deepseek ai deepseek r 1"``."""
    text = _PUNCTUATION.sub(" ", text.lower()[:MAX_QUERY])
    text = _STRAY_DOT.sub(" ", _LETTER_DIGIT.sub(" ", text))
    return " ".join(text.split())


@cache
def _data() -> dict[str, Any]:
    return json.loads(ALIASES_FILE.read_text(encoding="utf-8"))


@cache
def aliases() -> dict[str, str]:
    """Normalized nickname → model slug, from ``data/search_aliases.json``."""
    table: dict[str, str] = _data()["aliases"]
    return {normalize(alias): slug for alias, slug in table.items()}


@cache
def packaging_words() -> frozenset[str]:
    words: list[str] = _data()["packaging_words"]
    return frozenset(normalize(w) for w in words)


def query_forms(text: str) -> list[str]:
    """The normalized forms of what a visitor typed to try: as typed, and for a
    repository id also its name alone; packaging words dropped from both."""
    forms = [text, text.rsplit("/", 1)[-1]] if "/" in text else [text]
    out = []
    for form in forms:
        words = [w for w in normalize(form).split() if w not in packaging_words()]
        if words and " ".join(words) not in out:
            out.append(" ".join(words))
    return out


def names_of(model: LlmModel) -> set[str]:
    """Every normalized name a visitor may know ``model`` by."""
    names = {model.name, model.slug}
    if model.hf_repo:
        names |= {model.hf_repo, model.hf_repo.rsplit("/", 1)[-1]}
    found = {normalize(n) for n in names}
    found |= {alias for alias, slug in aliases().items() if slug == model.slug}
    return {n for n in found if n}


def _word_score(word: str, name_words: list[str]) -> float:
    if _NUMBER.fullmatch(word):
        return 100.0 if word in name_words else 0.0
    best = process.extractOne(word, name_words, scorer=fuzz.ratio)
    return float(best[1]) if best else 0.0


def score(query: str, name: str) -> float:
    """How well a normalized ``query`` matches a normalized ``name``, 0 to 100."""
    if query == name:
        return 100.0
    words, name_words = query.split()[:MAX_WORDS], name.split()
    by_word = sum(_word_score(w, name_words) for w in words) / len(words) if words else 0.0
    if not set(_NUMBER.findall(query)) <= set(_NUMBER.findall(name)):
        return by_word
    return max(by_word, fuzz.ratio(query.replace(" ", ""), name.replace(" ", "")))


@dataclass(frozen=True)
class Match:
    model: LlmModel
    score: float
    exact: bool  # the query is one of the model's names
    extra_words: int = 0  # words of the best-matching name the query leaves uncovered


def rank(query: str, models: Iterable[LlmModel], cutoff: float = SEARCH_CUTOFF) -> list[Match]:
    """Models whose best name scores at least ``cutoff``, best first."""
    exact, forms = normalize(query), query_forms(query)
    if not forms:
        return []
    matches = []
    for model in models:
        names = names_of(model)
        if exact in names:
            matches.append(Match(model, 100.0, exact=True))
            continue
        best, extra = max(
            (
                (score(form, name), -max(0, len(name.split()) - len(form.split())))
                for form in forms
                for name in names
            ),
            default=(0.0, 0),
        )
        if best >= cutoff:
            matches.append(Match(model, best, exact=False, extra_words=-extra))
    matches.sort(
        key=lambda m: (-m.exact, -m.score, m.extra_words, -m.model.popular, -m.model.total_params)
    )
    return matches


def resolve(text: str, models: Iterable[LlmModel]) -> LlmModel | None:
    """The model ``text`` names exactly (any of its names, any case or punctuation)."""
    wanted = normalize(text)
    return next((m for m in models if wanted and wanted in names_of(m)), None)


def suggest(text: str, models: Iterable[LlmModel], limit: int = 3) -> list[LlmModel]:
    """The closest models to a name that matched none exactly ("did you mean")."""
    return [m.model for m in rank(text, models, cutoff=SUGGEST_CUTOFF)[:limit]]


def did_you_mean(text: str, models: Iterable[LlmModel]) -> str:
    """`` (did you mean deepseek-r1 or deepseek-v3?)`` for a message, or empty."""
    slugs = [m.slug for m in suggest(text, models)]
    if not slugs:
        return ""
    listed = slugs[0] if len(slugs) == 1 else f"{', '.join(slugs[:-1])} or {slugs[-1]}"
    return f" (did you mean {listed}?)"
