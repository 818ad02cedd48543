import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from calculator import options as option_table
from calculator import selectors, services
from calculator.engine.hardware import GIB
from calculator.engine.types import EngineError
from front import search
from front.payloads import estimate_payload, model_payload
from front.presenters.files import choose_quant, model_defaults


class Command(BaseCommand):
    help = "Print the memory and speed estimate for a catalog model (same numbers as the API)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="model slug or Hugging Face repo id")
        for field in option_table.FIELDS:  # --quant, --context, --kv-type, --parallel
            default = option_table.DEFAULTS
            parser.add_argument(
                f"--{field.name.replace('_', '-')}",
                dest=field.name,
                help=f"{field.help} (default {field.text(getattr(default, field.name))})"
                if field.name != "quant"
                else f"{field.help}",
            )
        for field in option_table.BUILD_FIELDS:  # --build, --host, --ram-gb, --dimms, --gpu
            parser.add_argument(
                f"--{field.name.replace('_', '-')}",
                dest=field.name,
                action="append" if field.many else "store",
                help=field.help,
            )
        parser.add_argument("--hardware", help="only this hardware profile slug")
        parser.add_argument("--json", action="store_true", help="print the API's JSON")

    def handle(self, *args: object, **opts: object) -> None:
        name = str(opts["model"])
        model = services.find_model(name) or search.resolve(name, selectors.models())
        if model is None:
            hint = search.did_you_mean(name, selectors.models())
            raise CommandError(f"unknown model '{name}'{hint}")
        arch = services.architecture_of(model)
        hardware = services.hardware_set()
        profiles = hardware.profiles
        if opts["hardware"]:
            profile = hardware.get(str(opts["hardware"]))
            if profile is None:
                raise CommandError(f"unknown hardware profile '{opts['hardware']}'")
            profiles = (profile,)
        try:
            options = option_table.parse_strict(opts, model_defaults(model))
            picked = option_table.parse_strict(
                opts, option_table.BUILD_DEFAULTS, option_table.BUILD_NAMES
            )
            build = services.build_from_query(picked, hardware)
            choice = choose_quant(model, arch, options, strict=True)
            est = services.estimate_for(
                arch, options, hardware, profiles,
                weights=choice.weights, model_file=choice.model_file,
            )  # fmt: skip
            placed = (
                services.estimate_on_builds(
                    arch, options, hardware, (build,), choice.weights, choice.model_file
                )
                if build
                else None
            )
        except EngineError as err:
            raise CommandError(f"{err.field}: {err}") from err
        payload = estimate_payload(
            est,
            model_payload(model, arch),
            profiles,
            choice.published,
            placed.placements[0] if placed else None,
        )
        if opts["json"]:
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self._print(payload)

    def _print(self, p: dict) -> None:
        m, mem = p["model"], p["memory"]
        kind = "Mixture-of-Experts" if m["architecture"] == "moe" else "dense"
        self.stdout.write(
            f"{m['name']} ({kind}, {m['total_params'] / 1e9:.1f}B total, "
            f"{m['active_params'] / 1e9:.1f}B active) at {p['quant']}, "
            f"{p['context']:,} tokens, KV {p['kv_type']}"
        )
        for label, key in (
            ("weights", "weights_bytes"),
            ("KV cache", "kv_cache_bytes"),
            ("compute buffer", "compute_buffer_bytes"),
            ("runtime + OS reserve", "overhead_bytes"),
            ("total", "total_bytes"),
        ):
            self.stdout.write(f"  {label:<22}{mem[key] / GIB:>9.1f} GiB")
        self.stdout.write(f"  RAM to buy: {p['recommended_ram_gb'] or 'more than 2048'} GB")
        for s in p["speeds"]:
            speed = f"{s['tokens_per_s']:.1f} tok/s" if s["tokens_per_s"] else "—"
            self.stdout.write(f"  {s['name'][:48]:<50}{s['mode']:<17}{speed}")
        self.stdout.write(f"  {p['llama_cpp_command']}")
        build = p.get("build")
        if build:
            self.stdout.write(f"Your build: {build['name']}")
            speed = f"{build['tokens_per_s']:.1f} tok/s" if build["tokens_per_s"] else "—"
            prompt = (
                f", prompt {build['prefill_tokens_per_s']:.0f} tok/s, first token after "
                f"{build['time_to_first_token_s']:.1f} s"
                if build["prefill_tokens_per_s"]
                else ""
            )
            self.stdout.write(f"  {build['fit']}, {build['mode']}: {speed}{prompt}")
            if build["note"]:
                self.stdout.write(f"  {build['note']}")
            if build["llama_cpp_command"]:
                self.stdout.write(f"  {build['llama_cpp_command']}")
