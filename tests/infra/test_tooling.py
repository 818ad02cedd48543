"""The tooling a newcomer meets: every make target named phony exists, and the
pre-commit hooks run the tools `make install` put in .venv (nothing downloaded)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()


def phony_targets() -> list[str]:
    [line] = [line for line in MAKEFILE.splitlines() if line.startswith(".PHONY:")]
    return line.split(":", 1)[1].split()


def recipe(target: str) -> list[str]:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)*)", MAKEFILE, re.M)
    assert match, f"no rule for {target}"
    return [line.strip() for line in match.group(1).splitlines()]


def test_every_phony_target_has_a_rule_with_a_recipe():
    targets = phony_targets()
    assert {"install", "run", "test", "lint", "typecheck", "beat", "worker"} <= set(targets)
    for target in targets:
        assert recipe(target) or target == "install", f"{target} has no recipe"


def test_lint_runs_the_hooks_the_import_contracts_and_mypy():
    steps = " ".join(recipe("lint"))
    assert "pre-commit run --all-files" in steps
    assert "lint-imports" in steps and "typecheck" in steps
    assert any("mypy" in line for line in recipe("typecheck"))


def test_pre_commit_hooks_are_local_tools_installed_by_make_install():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    assert {"ruff", "ruff-format", "django-upgrade", "djlint"} <= set(hooks)
    for hook in hooks.values():
        tool = hook["entry"].split()[0]
        assert hook["language"] == "system" and tool.startswith(".venv/bin/"), hook["id"]
        assert (ROOT / tool).exists(), f"{tool}: not installed by make install"
    assert "--target-version 5.2" in hooks["django-upgrade"]["entry"]


def test_the_make_targets_dry_run_cleanly():
    for target in ("lint", "typecheck", "beat"):
        result = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr


LAYOUT_PACKAGES = ("config", "calculator", "catalog", "faq", "front", "bench")


def layout_sections() -> dict[str, str]:
    """The README's layout block, split at each top-level folder (``calculator/engine/``
    counts as its own)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    sections: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        head = line.split(" ", 1)[0]
        if head.endswith("/") and not line.startswith(" "):
            current = head
        sections[current] = sections.get(current, "") + line + "\n"
    return sections


def test_the_readme_layout_names_every_module():
    sections = layout_sections()
    missing = []
    for package in LAYOUT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if path.name == "__init__.py" or "migrations" in relative.parts:
                continue
            engine = relative.parts[:2] == ("calculator", "engine")
            section = sections.get("calculator/engine/" if engine else f"{package}/", "")
            name = path.stem if "commands" in relative.parts else path.name
            if name not in section:
                missing.append(str(relative))
    assert missing == []
