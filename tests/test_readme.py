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
