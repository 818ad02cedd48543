import json

from django.core.management.base import BaseCommand, CommandParser

from calculator import calibration, services, validation
from calculator.engine.architecture import parse_config


class Command(BaseCommand):
    help = (
        "Fit decode efficiency and per-token overhead per hardware class, the extra time per "
        "GPU in a layer split and the prompt-processing efficiency to the 'fit' rows of "
        "data/reference/*.csv, report the held-out ('check') rows; --write stores the fits "
        "in hardware.json."
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
        write = bool(options["write"])
        for f in calibration.fit(calibration.points(archs, profiles), penalty):
            self.stdout.write(
                f"{f.efficiency_class:<8} eta {f.eta:.2f}  overhead {f.overhead_ms:.1f} ms  "
                f"fit rows {f.within_30}/{f.rows} within ±30%  held out "
                f"{f.held_out_within_30}/{f.held_out}"
            )
            if write:
                hardware["efficiency"][f.efficiency_class].update(
                    eta=f.eta,
                    overhead_ms=f.overhead_ms,
                    low=round(f.eta * f.low, 3),
                    high=round(min(1.0, f.eta * f.high), 3),
                    derivation=(
                        f"Least-squares fit (log error) of seconds/token = bytes/(eta x "
                        f"bandwidth) + overhead to the {f.rows} 'fit' rows of this class in "
                        f"calculator/data/reference/decode_speeds.csv (python manage.py "
                        f"calibrate_speed): {f.within_30}/{f.rows} within ±30%; the "
                        f"{f.held_out} held-out 'check' rows: {f.held_out_within_30} within "
                        f"±30%. low/high span the measured/predicted ratios of the fit rows."
                    ),
                )
        engine_profiles = calibration.profiles_from_data(hardware)
        inv = validation.reference_inventory(engine_profiles)
        multi = calibration.fit_extra_gpu_ms(archs, inv)
        self.stdout.write(
            f"multi-GPU extra {multi.value:.2f} ms per GPU  fit rows {multi.within_30}/"
            f"{multi.rows}  held out {multi.held_out_within_30}/{multi.held_out}"
        )
        if write:
            hardware["efficiency"][services.MULTI_GPU_KEY] = {
                "eta": 1.0,
                "overhead_ms": multi.value,
                "sources": [
                    "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference/blob/HEAD/README.md"
                ],
                "derivation": (
                    f"overhead_ms = time per token added by each GPU after the first in a "
                    f"layer split, fitted (grid, log error) to the {multi.rows} 'fit' multi-GPU "
                    f"rows of calculator/data/reference/build_speeds.csv: {multi.within_30}/"
                    f"{multi.rows} within ±30%; held out {multi.held_out_within_30}/"
                    f"{multi.held_out}. eta unused."
                ),
            }
        link = calibration.fit_link_efficiency(archs, inv)
        self.stdout.write(
            f"PCIe weight copies {link.value:.2f} of the link  fit rows {link.within_30}/"
            f"{link.rows} within ±30%  held out {link.held_out_within_30}/{link.held_out}"
        )
        if write:
            hardware["efficiency"][services.PCIE_KEY] = {
                "eta": link.value,
                "sources": sorted(
                    {
                        r["source"]
                        for r in validation.read_reference("build_speeds.csv")
                        if r["group"] == "offload_prefill" and r.get("use") == "fit"
                    }
                ),
                "derivation": (
                    f"eta = share of a GPU's PCIe link (link_gbps) that llama.cpp's copies of "
                    f"weights kept in system RAM reach while it reads a prompt (op offload: "
                    f"every micro-batch copies them to the GPU), fitted (grid, log error) to the "
                    f"{link.rows} 'fit' offload_prefill rows of calculator/data/reference/"
                    f"build_speeds.csv: {link.within_30}/{link.rows} within ±30%; held out "
                    f"{link.held_out_within_30}/{link.held_out}."
                ),
            }
        ik = calibration.fit_engine(archs, inv, "ik_llama.cpp")
        self.stdout.write(
            f"ik_llama.cpp CPU experts x{ik.value:.2f} of llama.cpp's  fit rows {ik.within_30}/"
            f"{ik.rows}  held out {ik.held_out_within_30}/{ik.held_out}"
        )
        if write:
            hardware.setdefault("engines", {})["ik_llama.cpp"] = {
                "label": "ik_llama.cpp",
                "host_moe_factor": ik.value,
                "sources": sorted(
                    {
                        r["source"]
                        for r in validation.read_reference("build_speeds.csv")
                        if r["group"] == "offload_ik" and r.get("use") == "fit"
                    }
                ),
                "derivation": (
                    f"host_moe_factor = rate at which ik_llama.cpp reads routed experts from "
                    f"system RAM during decode, relative to llama.cpp's (class efficiency x "
                    f"moe_penalty); placement as llama.cpp's. Fitted (grid, log error) to the "
                    f"{ik.rows} 'fit' offload_ik rows of calculator/data/reference/"
                    f"build_speeds.csv: {ik.within_30}/{ik.rows} within ±30%; held out "
                    f"{ik.held_out_within_30}/{ik.held_out}."
                ),
            }
        classes = {
            slug: p.get("prefill_class") or p["efficiency_class"] for slug, p in profiles.items()
        }
        pre = calibration.fit_prefill(archs, engine_profiles, classes)
        for key, eta in pre.class_eta.items():
            self.stdout.write(f"prefill {key:<16} {eta:.3f} of fp16 TFLOPS")
        for slug, tflops in pre.measured_tflops.items():
            self.stdout.write(f"prefill {slug:<28} {tflops:.1f} effective TFLOPS")
        for backend, us in pre.moe_us.items():
            self.stdout.write(f"prefill MoE {backend:<8} {us:.2f} µs per token and MoE layer "
                              f"({pre.moe_rows[backend]} fit rows)")  # fmt: skip
        if write:
            hardware["prefill"] = {
                key: {
                    "eta": eta,
                    "sources": list(pre.class_sources.get(key, ())),
                    "derivation": (
                        "Geometric mean of effective TFLOPS / vendor dense FP16 TFLOPS over "
                        "this class's 'fit' rows of calculator/data/reference/prefill_speeds.csv "
                        "(effective TFLOPS = pp tokens/s x FLOPs per prompt token, "
                        "calculator/engine/prefill.py)."
                    ),
                }
                for key, eta in sorted(pre.class_eta.items())
            }
            for slug, tflops in pre.measured_tflops.items():
                profiles[slug]["prefill_tflops"] = tflops
            moe_fit_rows = [
                r for r in validation.read_reference("prefill_speeds.csv")
                if r.get("use") == "fit" and r["model_slug"] in archs
                and archs[r["model_slug"]].n_expert
            ]  # fmt: skip
            hardware["prefill_moe"] = {
                backend: {
                    "us_per_token_layer": us,
                    "sources": sorted(
                        {
                            r["source"]
                            for r in moe_fit_rows
                            if validation.prefill_backend(r) == backend
                        }
                    ),
                    "derivation": (
                        f"Prompt time per token and MoE layer beyond the FLOPs and the experts' "
                        f"reads per micro-batch (calculator/engine/prefill.py prompt_seconds), "
                        f"grid fit (least squared log error) to the {pre.moe_rows[backend]} MoE "
                        f"'fit' rows of this backend in calculator/data/reference/"
                        f"prefill_speeds.csv, with the dense prompt rates fitted first."
                    ),
                }
                for backend, us in pre.moe_us.items()
            }
            services.HARDWARE_FILE.write_text(
                json.dumps(hardware, indent=2, ensure_ascii=False) + "\n"
            )
            self.stdout.write("hardware.json updated")
