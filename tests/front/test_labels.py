"""Every enum value a page can show has human words, from one table."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from calculator import selectors
from calculator.engine.hardware import KINDS
from calculator.engine.pools import FIT_CLASSES
from calculator.engine.quant import PRESETS
from calculator.engine.speed import Mode
from calculator.models import HardwareProfile
from catalog.models import MemoryKit
from front.presenters.labels import ENUM_LABELS, label
from front.presenters.methodology import validation_report


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        ("quant_group", {p.group for p in PRESETS.values()}),
        ("hardware_kind", set(KINDS)),
        ("form_factor", set(MemoryKit.FormFactor.values)),
        ("speed_mode", set(get_args(Mode))),
        ("fit", set(FIT_CLASSES)),
        ("tier", {code for code, _ in HardwareProfile.TIERS}),
        ("architecture", {"dense", "moe"}),
    ],
)
def test_every_value_of_each_enum_has_its_words(enum, values):
    assert values <= set(ENUM_LABELS[enum]), values - set(ENUM_LABELS[enum])


def test_every_validation_kind_on_the_methodology_page_has_its_words(catalog, hardware):
    report = validation_report(selectors.models(), hardware)
    assert set(report.rows_by_kind()) <= set(ENUM_LABELS["validation"])


def test_words_not_codes():
    assert label("tier", "consumer-gpu") == "Consumer GPU"
    assert label("quant_group", "MXFP4").startswith("MXFP4")
    assert label("form_factor", "3DS_RDIMM") == "3DS RDIMM"


RAW = re.compile(r"\b(Apu|Consumer-gpu|Pro-gpu|Datacenter-gpu|Mxfp4|Faq|3DS_RDIMM)\b")


@pytest.mark.parametrize(
    "url",
    ["/", "/models/", "/models/deepseek-r1/", "/hardware/", "/hardware/rtx-4090/",
     "/hardware/strix-halo-395-128/", "/compare/?models=deepseek-r1,gpt-oss-20b",
     "/methodology/", "/faq/"],
)  # fmt: skip
def test_pages_show_no_raw_enum_codes(client, site_data, url):
    html = client.get(url).content.decode()
    assert not RAW.findall(html)


def test_the_admin_names_the_faq_app_in_capitals(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert ">FAQ<" in html and not RAW.findall(html)
