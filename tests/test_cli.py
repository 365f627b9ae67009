"""The command line's contract: help lists every command, exit codes mean one thing."""
from __future__ import annotations

import subprocess
import sys

import pytest

from site_src import cli


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """Run build.py as a user would."""
    return subprocess.run(
        [sys.executable, "build.py", *args], capture_output=True, text=True,
        cwd=cwd or cli.Path(__file__).resolve().parent.parent,
    )


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()
              if line.startswith("    ") and line.split()}
    assert set(cli.COMMANDS) <= listed


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_every_command_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"build.py {command}" in result.stdout


def test_unknown_command_is_a_usage_error_on_stderr():
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "invalid choice" in result.stderr
