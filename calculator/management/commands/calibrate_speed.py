import json

from django.core.management.base import BaseCommand, CommandParser

from calculator import calibration, services
from calculator.engine.architecture import parse_config


class Command(BaseCommand):
    help = (
        "Fit decode efficiency and per-token overhead per hardware class to the published "
        "measurements (data/reference/decode_speeds.csv); --write stores them in hardware.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        archs = {}
        for path in sorted(services.MODELS_DIR.glob("*.json")):
            data = json.loads(path.read_text())
            archs[data["slug"]] = parse_config(data["config"])
        hardware = json.loads(services.HARDWARE_FILE.read_text())
        profiles = {p["slug"]: p for p in hardware["profiles"]}
        penalty = hardware["efficiency"][services.MOE_PENALTY_KEY]["eta"]
        fits = calibration.fit(calibration.points(archs, profiles), penalty)
        for f in fits:
            self.stdout.write(
                f"{f.efficiency_class:<8} eta {f.eta:.2f}  overhead {f.overhead_ms:.1f} ms  "
                f"rows {f.rows}  within ±30% {f.within_30}  leave-one-out {f.loo_within_30}"
            )
            if options["write"]:
                entry = hardware["efficiency"][f.efficiency_class]
                entry.update(
                    eta=f.eta,
                    overhead_ms=f.overhead_ms,
                    low=round(f.eta * f.low, 3),
                    high=round(min(1.0, f.eta * f.high), 3),
                    derivation=(
                        f"Least-squares fit (log error) of seconds/token = bytes/(eta x "
                        f"bandwidth) + overhead to the {f.rows} measurements of this class in "
                        f"calculator/data/reference/decode_speeds.csv (python manage.py "
                        f"calibrate_speed). In-sample: {f.within_30}/{f.rows} within ±30%; "
                        f"leave-one-out: {f.loo_within_30}/{f.rows}. low/high span the "
                        f"measured/predicted ratios. Earlier reading: "
                        + entry.get("derivation", "").split(" Earlier reading: ")[-1]
                    ),
                )
        if options["write"]:
            services.HARDWARE_FILE.write_text(
                json.dumps(hardware, indent=2, ensure_ascii=False) + "\n"
            )
            self.stdout.write("hardware.json updated")
