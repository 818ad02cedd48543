"""The reviewed data files as engine values, for engine tests that need real hardware
(no database: the same reading ``calibrate_speed`` and the engine bench use)."""

import json
from functools import cache
from pathlib import Path

from calculator import calibration, validation
from calculator.engine.architecture import parse_config
from calculator.engine.build import Inventory, build_from_spec

DATA = Path(validation.DATA_DIR)


@cache
def model(slug):
    return parse_config(json.loads((DATA / "models" / f"{slug}.json").read_text())["config"])


@cache
def inventory() -> Inventory:
    hardware = json.loads((DATA / "hardware.json").read_text())
    return validation.reference_inventory(calibration.profiles_from_data(hardware))


def preset(slug):
    entry = next(b for b in presets_data() if b["slug"] == slug)
    return build_from_spec(entry["build"], inventory(), slug=slug, name=entry["name"])


@cache
def presets_data():
    return tuple(json.loads((DATA / "builds.json").read_text())["builds"])
