"""`headsplat` command line: --version and doctor (in-process and as the installed console script)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import __version__, cli

CHECKS = ("python", "torch", "gsplat", "gl", "qt", "face", "audio", "ffmpeg")
STATUSES = ("OK", "WARN", "MISSING")


def check_lines(output: str) -> dict[str, str]:
    """{check name: status} from doctor's output."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in STATUSES:
            found[parts[1]] = parts[0]
    return found


def test_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.strip() == f"headsplat {__version__}"


def test_no_subcommand_prints_help(capsys):
    assert cli.main([]) == 2
    assert "doctor" in capsys.readouterr().out


def test_doctor_in_process(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert set(check_lines(out)) == set(CHECKS)
    for line in out.splitlines():
        if line.split()[:1] in (["WARN"], ["MISSING"]):
            assert " -> " in line, f"a finding that is not OK must say what to do: {line}"


def test_doctor_console_script():
    script = Path(sys.executable).with_name("headsplat")
    proc = subprocess.run([str(script), "doctor"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    statuses = check_lines(proc.stdout)
    assert set(statuses) == set(CHECKS)
    assert statuses["python"] == "OK" and statuses["ffmpeg"] == "OK" and statuses["face"] == "OK"
    assert "QT_QPA_PLATFORM=offscreen" in proc.stdout  # the viewport would get no OpenGL there


def test_a_crashing_or_missing_check_does_not_stop_doctor(monkeypatch, capsys):
    def broken() -> cli.Check:
        raise RuntimeError("probe exploded")

    monkeypatch.setattr(cli, "DOCTOR_CHECKS", (broken, cli._check_audio, cli._check_python))
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # makes `import sounddevice` fail
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "WARN     broken  the check itself failed: RuntimeError: probe exploded" in out
    assert "MISSING  audio" in out and "pip install" in out
    assert "OK       python" in out
