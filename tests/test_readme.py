"""The README's two commands are the ones CI runs (a newcomer's first contact must stay true)."""

import re

from conftest import REPO_ROOT


def readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_has_the_main_job_and_the_test_command():
    main_job, tests = readme_commands()[:2]
    assert "webweave run" in main_job and "pip install -e ." in main_job
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci
    assert "WEBWEAVE_REQUIRE_FIXTURES=1" in ci


def test_every_package_folder_is_in_the_distribution():
    """A wheel ships only the packages pyproject lists (package-dir mapping, no discovery)."""
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    mapping = project["tool"]["setuptools"]["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (REPO_ROOT / folder).rglob("*.py"):
            relative = init.parent.relative_to(REPO_ROOT / folder)
            if "__pycache__" in relative.parts or "data" in relative.parts:
                continue
            found.add(".".join([package, *relative.parts]))
    assert found <= listed, f"package folders missing from pyproject.toml: {sorted(found - listed)}"
    assert all((REPO_ROOT / mapping_folder(p, mapping) / "__init__.py").exists() for p in listed)


def mapping_folder(package: str, mapping: dict) -> str:
    root = next(key for key in mapping if package == key or package.startswith(key + "."))
    rest = package[len(root) + 1 :].replace(".", "/")
    return f"{mapping[root]}/{rest}" if rest else mapping[root]
