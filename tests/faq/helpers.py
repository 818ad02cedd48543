import json
import re

LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def json_ld(html: str) -> list[dict]:
    return [json.loads(block) for block in LD_JSON.findall(html)]


def of_type(html: str, type_name: str) -> dict:
    found = [d for d in json_ld(html) if d.get("@type") == type_name]
    assert len(found) == 1, f"expected one {type_name}, found {len(found)}"
    return found[0]


def assert_valid_faq_page(data: dict, n_questions: int) -> None:
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "FAQPage"
    assert len(data["mainEntity"]) == n_questions
    for item in data["mainEntity"]:
        assert item["@type"] == "Question"
        assert item["name"].strip()
        assert item["acceptedAnswer"]["@type"] == "Answer"
        assert item["acceptedAnswer"]["text"].strip()
