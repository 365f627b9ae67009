"""The CI's tool installer: it installs exactly what is missing, and nothing when all is there.

The script runs against fake `apt-get` and `npm` commands on a PATH of our own,
so the test proves the bare-machine path without uninstalling anything.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "setup-test-tools.sh"

FAKE_NPM = '#!/bin/sh\necho "npm $*" >> "$LOG"\n'
FAKE_TOOL = "#!/bin/sh\nexit 0\n"
FAKE_APT = """#!/bin/sh
echo "apt-get $*" >> "$LOG"
# "Installing" makes the tools appear, as the real packages would.
if [ "$1" = install ]; then
  cp "$FAKES/tool" "$FAKEBIN/java"; cp "$FAKES/tool" "$FAKEBIN/node"; cp "$FAKES/npm" "$FAKEBIN/npm"
  cp "$FAKES/tool" "$CHROMIUM_PATH"
fi
"""


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _project(tmp_path: Path, *, tools_present: bool) -> tuple[Path, dict[str, str]]:
    """A copy of the script in a bare project, a PATH with only the basics (plus the tools if present)."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / "tools" / "js").mkdir(parents=True)
    shutil.copy(SCRIPT, project / "scripts" / SCRIPT.name)
    (project / "tools" / "js" / "package-lock.json").write_text("{}\n")
    fakes, fakebin = tmp_path / "fakes", tmp_path / "bin"
    fakes.mkdir()
    fakebin.mkdir()
    _write(fakes / "tool", FAKE_TOOL)
    _write(fakes / "npm", FAKE_NPM)
    for tool in ("bash", "sh", "dirname", "id", "cp", "chmod"):
        (fakebin / tool).symlink_to(shutil.which(tool))
    _write(fakebin / "apt-get", FAKE_APT)
    _write(fakebin / "sudo", '#!/bin/sh\nexec "$@"\n')
    chromium = tmp_path / "chromium"
    if tools_present:
        for tool in ("java", "node"):
            _write(fakebin / tool, FAKE_TOOL)
        _write(fakebin / "npm", FAKE_NPM)
        _write(chromium, FAKE_TOOL)
    env = {"PATH": str(fakebin), "LOG": str(tmp_path / "log"), "FAKEBIN": str(fakebin),
           "FAKES": str(fakes), "CHROMIUM_PATH": str(chromium), "HOME": str(tmp_path)}
    return project, env


def _run(project: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[str]]:
    result = subprocess.run([env["PATH"] + "/bash", str(project / "scripts" / SCRIPT.name)],
                            env=env, capture_output=True, text=True, timeout=60)
    log = Path(env["LOG"])
    return result, log.read_text().splitlines() if log.exists() else []


def test_a_bare_machine_gets_chromium_java_node_and_npm_from_debian(tmp_path):
    project, env = _project(tmp_path, tools_present=False)
    result, log = _run(project, env)
    assert result.returncode == 0, result.stderr
    assert log == ["apt-get update -qq",
                   "apt-get install -y -qq chromium default-jre-headless nodejs npm",
                   "npm ci --prefix tools/js --no-audit --no-fund --loglevel=error"]


def test_a_ready_machine_installs_nothing_and_only_restores_the_npm_checkers(tmp_path):
    project, env = _project(tmp_path, tools_present=True)
    result, log = _run(project, env)
    assert result.returncode == 0, result.stderr
    assert log == ["npm ci --prefix tools/js --no-audit --no-fund --loglevel=error"]


def test_an_install_that_leaves_a_tool_missing_fails_loudly(tmp_path):
    project, env = _project(tmp_path, tools_present=False)
    _write(Path(env["FAKEBIN"]) / "apt-get", '#!/bin/sh\necho "apt-get $*" >> "$LOG"\n')
    result, _ = _run(project, env)
    assert result.returncode == 1
    assert "is still missing" in result.stderr
