"""Autobahn TestSuite conformance, both directions, via kosoku.

* server: kosoku's fuzzingclient drives `canal serve --conformance`.
* client: kosoku's fuzzingserver is driven by `canal-testpeer autobahn`.

Cases 12.* and 13.* (permessage-deflate) are always excluded. Environment:

  CANAL_AUTOBAHN_CASES        comma-separated include globs, e.g. "1.*,9.1.1"
                              (default: the whole suite, ~301 cases)
  CANAL_AUTOBAHN_REPORTS      directory to keep the reports in (it gets
                              servers/ and clients/ subdirectories); default:
                              pytest's tmp_path
  CANAL_AUTOBAHN_PARALLELISM  cases kosoku runs in parallel against our server
                              (default 1)
  CANAL_KOSOKU                command to run instead of `kosoku` (default:
                              `kosoku` on PATH, else this python's kosoku)
  CANAL_AUTOBAHN_ALLOW_NON_STRICT=1
                              also accept NON-STRICT verdicts (default: only
                              OK and INFORMATIONAL pass)

kosoku's client-mode protocol (checked against kosoku 0.1.0):
  GET /getCaseCount                      -> one text message with the count, then Close 1000
  GET /runCase?case=N&agent=A            -> case N (1-based); echo every message
  GET /updateReports?agent=A             -> 101 then the TCP connection is dropped
                                            (no Close frame); this ENDS the run and
                                            kosoku writes its reports and exits
                                            (exit 0: all passed, 1: some failed)
index.json: {agent: {case_id: {"behavior", "behaviorClose", "remoteCloseCode",
"duration", "reportfile"}}}, with per-case <reportfile> JSON beside it. In
server mode the agent is the server's `Server` header.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from canal_interop import CANAL, TESTPEER, ManagedProcess, run_async

AUTOBAHN_TIMEOUT = 20 * 60  # seconds, per kosoku run
ALWAYS_EXCLUDED = ["12.*", "13.*"]
AGENT = "canal"
FUZZINGSERVER_RE = re.compile(r"fuzzingserver listening on ws://([0-9.]+):(\d+)")


# --------------------------------------------------------------------------
# Selection, kosoku invocation, report parsing
# --------------------------------------------------------------------------


def case_selection() -> tuple[list[str], list[str]]:
    raw = os.environ.get("CANAL_AUTOBAHN_CASES", "")
    includes = [c.strip() for c in raw.split(",") if c.strip()]
    return includes, list(ALWAYS_EXCLUDED)


def selection_args(includes: list[str], excludes: list[str]) -> list[str]:
    args: list[str] = []
    for c in includes:
        args += ["-i", c]
    for c in excludes:
        args += ["-x", c]
    return args


def kosoku_command() -> list[str]:
    override = os.environ.get("CANAL_KOSOKU")
    if override:
        return shlex.split(override)
    try:
        import kosoku  # noqa: F401
    except ImportError as exc:  # CI must not pass without it
        pytest.fail(f"kosoku is not installed ({exc}); `pip install kosoku==0.1.0`", pytrace=False)
    exe = shutil.which("kosoku")
    if exe:
        return [exe]
    return [sys.executable, "-c", "from kosoku._cli import main; main()"]


def accepted_verdicts() -> set[str]:
    ok = {"OK", "INFORMATIONAL"}
    if os.environ.get("CANAL_AUTOBAHN_ALLOW_NON_STRICT") == "1":
        ok.add("NON-STRICT")
    return ok


def report_dir(tmp_path: Path, kind: str) -> Path:
    base = os.environ.get("CANAL_AUTOBAHN_REPORTS")
    out = (Path(base).resolve() if base else tmp_path) / kind
    if out.exists():
        shutil.rmtree(out)
    return out


def case_key(case_id: str) -> list[int]:
    return [int(p) if p.isdigit() else 0 for p in case_id.split(".")]


def load_index(outdir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    path = outdir / "index.json"
    if not path.is_file():
        pytest.fail(f"kosoku wrote no {path} (no case ran?)", pytrace=False)
    index = json.loads(path.read_text())
    assert isinstance(index, dict), f"unexpected index.json shape: {type(index)}"
    return index


def failing_cases(index: dict[str, dict[str, dict[str, Any]]], accepted: set[str]) -> list[tuple[str, str, dict[str, Any]]]:
    bad = []
    for agent, cases in index.items():
        for case_id, entry in cases.items():
            if entry.get("behavior") not in accepted or entry.get("behaviorClose") not in accepted:
                bad.append((agent, case_id, entry))
    bad.sort(key=lambda t: (t[0], case_key(t[1])))
    return bad


def describe_failures(outdir: Path, failures: list[tuple[str, str, dict[str, Any]]], total: int) -> str:
    lines = [f"{len(failures)} of {total} Autobahn cases not OK/INFORMATIONAL (reports: {outdir}/index.html):"]
    for agent, case_id, entry in failures:
        line = (
            f"  {case_id:<8} behavior={entry.get('behavior')!s:<14} "
            f"behaviorClose={entry.get('behaviorClose')!s:<16} "
            f"remoteCloseCode={entry.get('remoteCloseCode')}"
        )
        detail = {}
        report = entry.get("reportfile")
        if report and (outdir / report).is_file():
            try:
                detail = json.loads((outdir / report).read_text())
            except (OSError, json.JSONDecodeError):
                detail = {}
        if detail:
            why = "; ".join(dict.fromkeys(str(detail[k]) for k in ("result", "resultClose") if detail.get(k)))
            if why:
                line += f"\n           {why[:300]}"
            line += f"\n           ({detail.get('description', '')[:160].strip()})  [{agent}: {report}]"
        lines.append(line)
    return "\n".join(lines)


def check_index(outdir: Path, expected_count: int, agent: str | None = None) -> None:
    index = load_index(outdir)
    if agent is not None:
        assert agent in index, f"no results for agent {agent!r} in index.json (agents: {list(index)})"
        index = {agent: index[agent]}
    total = sum(len(c) for c in index.values())
    ran = {cid for cases in index.values() for cid in cases}
    failures = failing_cases(index, accepted_verdicts())
    msgs = []
    if failures:
        msgs.append(describe_failures(outdir, failures, total))
    if total != expected_count:
        msgs.append(f"expected {expected_count} case results, index.json has {total} ({len(ran)} distinct ids)")
    if msgs:
        pytest.fail("\n".join(msgs), pytrace=False)
    print(f"Autobahn: {total} cases OK/INFORMATIONAL; reports in {outdir}")


async def get_case_count(port: int) -> int:
    async with connect(f"ws://127.0.0.1:{port}/getCaseCount", open_timeout=15, close_timeout=5) as ws:
        return int(await asyncio.wait_for(ws.recv(), 15))


async def trigger_update_reports(port: int, agent: str) -> None:
    """Ask kosoku's fuzzingserver to end the run and write its reports."""
    try:
        async with connect(f"ws://127.0.0.1:{port}/updateReports?agent={agent}", open_timeout=15) as ws:
            await asyncio.wait_for(ws.recv(), 15)
    except Exception:
        pass  # kosoku drops the connection without a Close frame


def start_fuzzingserver(spawn, outdir: Path, includes: list[str], excludes: list[str]) -> tuple[ManagedProcess, int]:
    fz = spawn([*kosoku_command(), "-m", "fuzzingserver", "127.0.0.1:0",
                *selection_args(includes, excludes), "-o", str(outdir)])
    m = fz.stderr.wait_for(FUZZINGSERVER_RE, 60)
    if m is None:
        fz.kill()
        pytest.fail(f"kosoku fuzzingserver did not report its port\n{fz.describe()}", pytrace=False)
    return fz, int(m.group(2))


def expected_case_count(spawn, tmp_path: Path, includes: list[str], excludes: list[str]) -> int:
    """How many cases kosoku selects for these globs (asked of a throwaway
    fuzzingserver), so a run that silently ran nothing cannot pass."""
    fz, port = start_fuzzingserver(spawn, tmp_path / "count-probe", includes, excludes)
    try:
        return run_async(get_case_count(port), 60)
    finally:
        fz.kill()


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_report_parser_flags_failures(tmp_path):
    """Self-test of the index.json handling (needs no binaries)."""
    (tmp_path / "a_case_7_1_5.json").write_text(json.dumps(
        {"result": "Actual events differ", "resultClose": "The close code should have been 1000",
         "description": "Send close, then ping"}))
    index = {"agent": {
        "1.1.1": {"behavior": "OK", "behaviorClose": "OK", "reportfile": "a_case_1_1_1.json"},
        "10.1.1": {"behavior": "INFORMATIONAL", "behaviorClose": "INFORMATIONAL"},
        "6.4.1": {"behavior": "NON-STRICT", "behaviorClose": "OK"},
        "7.1.5": {"behavior": "FAILED", "behaviorClose": "WRONG CODE", "remoteCloseCode": 1002,
                  "reportfile": "a_case_7_1_5.json"},
        "9.3.1": {"behavior": "OK", "behaviorClose": "UNCLEAN"},
    }}
    (tmp_path / "index.json").write_text(json.dumps(index))
    strict = failing_cases(load_index(tmp_path), {"OK", "INFORMATIONAL"})
    assert [c for _, c, _ in strict] == ["6.4.1", "7.1.5", "9.3.1"]
    text = describe_failures(tmp_path, strict, 5)
    assert "7.1.5" in text and "WRONG CODE" in text and "close code should have been 1000" in text
    assert [c for _, c, _ in failing_cases(index, {"OK", "INFORMATIONAL", "NON-STRICT"})] == ["7.1.5", "9.3.1"]
    with pytest.raises(pytest.fail.Exception):
        check_index(tmp_path, expected_count=5)


def run_server_suite(start_server, spawn, tmp_path: Path, kind: str, includes, excludes, *server_args: str) -> None:
    """kosoku fuzzingclient against `canal serve --echo-only <server_args>`, reporting to
    `report_dir(tmp_path, kind)`; every selected case must end with an accepted verdict."""
    expected = expected_case_count(spawn, tmp_path, includes, excludes)
    assert expected > 0, f"case selection {includes or 'all'} minus {excludes} is empty"
    server = start_server(*server_args)
    outdir = report_dir(tmp_path, kind)
    parallelism = os.environ.get("CANAL_AUTOBAHN_PARALLELISM", "1")
    fuzz = spawn([*kosoku_command(), "-m", "fuzzingclient", f"127.0.0.1:{server.port}",
                  *selection_args(includes, excludes), "-p", parallelism, "-o", str(outdir)])
    rc = fuzz.wait(AUTOBAHN_TIMEOUT)
    assert rc in (0, 1), f"kosoku fuzzingclient crashed (exit {rc})\n{fuzz.describe()}"
    assert server.returncode is None, f"`canal serve` died during the run\n{server.describe()}"
    check_index(outdir, expected)


def run_client_suite(spawn, testpeer_exe, outdir: Path, includes, excludes) -> None:
    """`canal-testpeer autobahn` against kosoku fuzzingserver; every selected case must end
    with an accepted verdict."""
    fz, port = start_fuzzingserver(spawn, outdir, includes, excludes)
    expected = run_async(get_case_count(port), 60)
    assert expected > 0, f"case selection {includes or 'all'} minus {excludes} is empty"

    peer = spawn([testpeer_exe, "autobahn", "--url", f"ws://127.0.0.1:{port}", "--agent", AGENT])
    try:
        peer_rc = peer.proc.wait(timeout=AUTOBAHN_TIMEOUT)
    except Exception:  # subprocess.TimeoutExpired
        peer.kill()
        peer_rc = None
    if peer_rc != 0:
        # Salvage what ran so the failure message shows the failing cases.
        run_async(trigger_update_reports(port, AGENT), 60)
        fz.wait(120)
        detail = f"--- kosoku fuzzingserver ---\n{fz.describe()}\n"
        if (outdir / "index.json").is_file():
            failures = failing_cases(load_index(outdir), accepted_verdicts())
            detail = describe_failures(outdir, failures, sum(len(c) for c in load_index(outdir).values()))
        pytest.fail(
            f"canal-testpeer autobahn {'timed out' if peer_rc is None else f'exited {peer_rc}'}\n"
            f"{peer.describe()}\n{detail}",
            pytrace=False,
        )

    fz_rc = fz.wait(120)  # kosoku ends the run on /updateReports
    logs = f"--- canal-testpeer ---\n{peer.describe()}\n--- kosoku fuzzingserver ---\n{fz.describe()}"
    assert fz_rc in (0, 1), f"kosoku fuzzingserver crashed (exit {fz_rc})\n{logs}"
    if not (outdir / "index.json").is_file():
        pytest.fail(f"kosoku wrote no report: no case was run\n{logs}", pytrace=False)
    check_index(outdir, expected, agent=AGENT)


@pytest.mark.autobahn
@pytest.mark.needs_binaries(CANAL)
def test_autobahn_server(start_server, spawn, tmp_path):
    """kosoku fuzzingclient -> `canal serve --conformance`."""
    includes, excludes = case_selection()
    run_server_suite(start_server, spawn, tmp_path, "servers", includes, excludes, "--conformance")


@pytest.mark.autobahn
@pytest.mark.needs_binaries(TESTPEER)
def test_autobahn_client(spawn, testpeer_exe, tmp_path):
    """`canal-testpeer autobahn` -> kosoku fuzzingserver."""
    includes, excludes = case_selection()
    run_client_suite(spawn, testpeer_exe, report_dir(tmp_path, "clients"), includes, excludes)
