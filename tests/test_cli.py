"""The command line as a user meets it: JSON contracts, help texts, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voicecoach.cli import main
from voicecoach.errors import ConfigError
from voicecoach.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, text=True,
                          capture_output=True, timeout=timeout, cwd=ROOT, env=env)


def test_parse_prints_one_json_object_per_input_in_order(
        capsys: pytest.CaptureFixture[str]) -> None:
    texts = ["um, could we pause please", "it hurts down my leg", "play some music", "seven"]
    assert main(["parse", "--phase", "screen", *texts]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in rows] == texts
    assert [r["transcript"] for r in rows] == texts
    assert [r["intent"] for r in rows] == ["pause", "red_flag", None, "pain_score"]
    assert rows[3]["slots"] == {"score": 7}
    assert all(set(r) == {"input", "transcript", "intent", "slots", "confidence"} for r in rows)
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)


def test_parse_phase_filter(capsys: pytest.CaptureFixture[str]) -> None:
    main(["parse", "--phase", "screen", "hold it longer"])
    main(["parse", "--phase", "hold", "hold it longer"])
    a, b = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert a["intent"] is None and b["intent"] == "longer"


@pytest.mark.parametrize("phase", ["screen", "setup", "pull", "hold", "switch_side", "stabilise",
                                   "paused", "finished"])
def test_red_flag_contract_in_every_phase(phase: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["parse", "--phase", phase, "it hurts down my leg"])
    assert json.loads(capsys.readouterr().out)["intent"] == "red_flag"


def test_parse_without_input_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse"]) == 1
    assert capsys.readouterr().err.startswith("voicecoach: nothing to parse")


def test_simulate_command_and_bad_scripts(tmp_path: Path) -> None:
    res = run_cli("simulate", str(ROOT / "examples" / "complete.yaml"))
    assert res.returncode == 0, res.stderr
    events = [json.loads(x) for x in res.stdout.splitlines()]
    assert events[0] == {"t": 0.0, "event": "phase", "phase": "screen", "side": None}
    assert events[-1]["event"] == "end" and events[-1]["reason"] == "completed"
    say = next(e for e in events if e["event"] == "say")
    assert {"t", "cue", "text", "seconds", "expects"} <= set(say)

    bad = tmp_path / "bad.yaml"
    bad.write_text("hold_seconds: 5\nturns: []\n")
    res = run_cli("simulate", str(bad))
    assert res.returncode == 1 and "hold_seconds must be 20 to 60" in res.stderr
    assert "Traceback" not in res.stderr
    bad.write_text("turns:\n  - after: 3\n")
    res = run_cli("simulate", str(bad))
    assert res.returncode == 1 and "needs a 'say'" in res.stderr
    res = run_cli("simulate", str(tmp_path / "missing.yaml"))
    assert res.returncode == 1 and "cannot read script" in res.stderr


def test_simulate_whole_session_under_a_second() -> None:
    start = time.perf_counter()
    res = run_cli("simulate", str(ROOT / "examples" / "complete.yaml"))
    assert res.returncode == 0
    # Includes starting Python and loading the templates; the session itself is ~0.1 s.
    assert time.perf_counter() - start < 5.0


def test_help_everywhere() -> None:
    for args in ([], ["run"], ["parse"], ["simulate"], ["diagram"]):
        res = run_cli(*args, "--help")
        assert res.returncode == 0 and "usage: voicecoach" in res.stdout, args
    assert "not medical advice" in run_cli("--help").stdout


def test_run_text_session_by_typing() -> None:
    # Real time, ten times faster; input arrives as the user types it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "run", "--text", "--time-scale", "0.05",
         "--seed", "3"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdin is not None
    for line in ["start", "no", "no", "four"]:
        time.sleep(1.0)
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    time.sleep(1.0)
    proc.stdin.write("my foot has gone numb\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "coach: " in out and "-- setup --" in out
    assert "(heard: red_flag)" in out
    assert out.rstrip().endswith("-- session ended: red_flag --")


def test_diagram(tmp_path: Path) -> None:
    res = run_cli("diagram", str(tmp_path / "flow.dot"))
    assert res.returncode == 0, res.stderr
    dot = (tmp_path / "flow.dot").read_text()
    for phase in ("SCREEN", "SETUP", "PULL", "HOLD", "SWITCH_SIDE", "STABILISE", "PAUSED",
                  "FINISHED"):
        assert phase in dot
    res = run_cli("diagram", str(tmp_path / "flow.svg"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "flow.svg").read_text().lstrip().startswith("<?xml")
    res = run_cli("diagram", str(tmp_path / "flow.gif"))
    assert res.returncode == 1 and "unsupported diagram format" in res.stderr


def test_settings_validation_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hold_seconds"):
        Settings(hold_seconds=90)
    with pytest.raises(ConfigError, match="unknown setting 'holdseconds'"):
        Settings().replace({"holdseconds": 30})
    with pytest.raises(ConfigError, match="must be a float"):
        Settings().replace({"hold_seconds": "long"})
    cfg = tmp_path / "c.toml"
    cfg.write_text('hold_seconds = 45\nfirst_side = "right"\n')
    s = load_settings(cfg)
    assert s.hold_seconds == 45.0 and s.first_side == "right"
    cfg.write_text("hold_seconds = [")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_second_pass_setting_reaches_the_recogniser(tmp_path: Path) -> None:
    from voicecoach.asr import create_recogniser

    cfg = tmp_path / "c.toml"
    cfg.write_text("second_pass = false\n")
    s = load_settings(cfg)
    assert s.second_pass is False and Settings().second_pass is True
    with pytest.raises(ConfigError, match="second_pass' must be a bool"):
        Settings().replace({"second_pass": "no"})
    for on, mode in ((True, "rejected"), (False, "none")):
        rec = create_recogniser("pocketsphinx", None, "screen", "none", second_pass=on)
        assert rec.second_pass == mode  # type: ignore[attr-defined]
