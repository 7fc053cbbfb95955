"""`canal --help` and each subcommand's help; usage errors exit 2."""

from __future__ import annotations

import pytest

from cli_support import run_canal


def test_root_help_lists_wscat_options_subcommands_and_exit_codes():
    result = run_canal("--help")
    assert result.returncode == 0, result
    text = result.stdout
    for expected in [
        "USAGE: canal -c <url> [options]",
        "canal -l <port> [options]",
        "-c, --connect <url>", "-l, --listen <port>", "-H, --header <name:value>",
        "-s, --subprotocol <protocol>", "-o, --origin <origin>", "-x, --execute <message>",
        "-w, --wait <seconds>", "-n, --no-check", "--ca <file>", "--cert <file>", "--key <file>",
        "--passphrase <passphrase>", "--auth <username:password>", "-L, --location",
        "--max-redirects <n>", "--host <host>", "-p, --protocol <version>", "--no-color",
        "-P, --show-ping-pong", "--slash", "--reconnect", "--timestamps",
        "serve", "connect", "listen",
        "SLASH COMMANDS", "/binary hex", "EXAMPLES", "EXIT STATUS",
    ]:
        assert expected in text, f"{expected!r} missing from --help\n{text}"
    # The exit codes are documented one per line.
    for code in ["  0  closed normally", "  1  could not connect", "  2  usage error", "  3  closed abnormally"]:
        assert code in text
    # The hidden test hooks stay hidden.
    assert "internals" not in text
    # It fits a terminal.
    assert max(len(line) for line in text.splitlines()) <= 100


@pytest.mark.parametrize("argv", [["-h"], ["help"]])
def test_short_help_forms(argv):
    result = run_canal(*argv)
    assert result.returncode == 0, result
    assert "EXIT STATUS" in result.stdout


def test_no_arguments_shows_help():
    result = run_canal()
    assert result.returncode == 0, result
    assert "USAGE: canal -c <url>" in result.stdout and "EXIT STATUS" in result.stdout


@pytest.mark.parametrize("argv", [["connect", "--help"], ["help", "connect"], ["connect", "-h"]])
def test_connect_help(argv):
    result = run_canal(*argv)
    assert result.returncode == 0, result
    assert "USAGE: canal connect [<options>] <url>" in result.stdout
    assert "EXIT STATUS" in result.stdout and "TYPING AND PIPES" in result.stdout


def test_listen_help():
    result = run_canal("listen", "--help")
    assert result.returncode == 0, result
    assert "USAGE: canal listen <port> [options]" in result.stdout
    assert "--bind <address>" in result.stdout and "[client 1]" in result.stdout


def test_serve_help_names_both_modes():
    result = run_canal("serve", "--help")
    assert result.returncode == 0, result
    assert "Serve the Canal demo site, or only a WebSocket echo." in result.stdout
    assert "--port <port>" in result.stdout and "--host <host>" in result.stdout
    assert "--echo-only" in result.stdout and "--public <public>" in result.stdout
    assert "--tls-cert <tls-cert>" in result.stdout and "--compression <preset>" in result.stdout


@pytest.mark.parametrize("argv", [["--version"], ["-V"]])
def test_version(argv):
    result = run_canal(*argv)
    assert result.returncode == 0, result
    assert result.stdout.strip() == "0.1.0"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--frobnicate"], "Unknown option"),
        (["-c", "ws://127.0.0.1:1/", "-l", "1"], "either --listen or --connect"),
        (["--slash"], "give --connect <url> or --listen <port>"),
        (["-c", "ftp://example.org/"], 'unsupported scheme "ftp"'),
        (["-c", "ws://127.0.0.1:99999/"], 'invalid port "99999"'),
        (["-c", "ws://127.0.0.1:1/#frag"], "fragment"),
        (["-c", "ws://127.0.0.1:1/", "-H", "no colon here"], "has no colon"),
        (["-c", "ws://127.0.0.1:1/", "-H", "bad name: x"], "is not valid"),
        (["-c", "ws://127.0.0.1:1/", "-p", "8"], "canal speaks version 13"),
        (["-c", "ws://127.0.0.1:1/", "--ca", "/nonexistent/ca.pem"], "cannot read the --ca file"),
        (["-c", "ws://127.0.0.1:1/", "--key", "/dev/null"], "--key needs --cert"),
        (["-l", "0", "-x", "hi"], "-x works with --connect only"),
        (["-l", "70000"], "not in 0-65535"),
        (["-c", "ws://127.0.0.1:1/", "--bind", "0.0.0.0"], "--bind works with --listen only"),
        (["-c"], "Missing value"),
        (["connect"], "Missing expected argument"),
        (["listen", "notaport"], "invalid for"),
    ],
)
def test_usage_errors_exit_2_with_a_message(argv, message):
    result = run_canal(*argv)
    assert result.returncode == 2, result
    assert message in result.stderr, result
    assert result.stderr.startswith("error: "), result
    assert result.stdout == ""


def test_passphrase_without_value_needs_a_terminal():
    # wscat asks for the passphrase when --passphrase has no value; without a terminal
    # canal says so instead of hanging.
    result = run_canal("-c", "wss://127.0.0.1:1/", "--passphrase")
    assert result.returncode == 2, result
    assert "needs a terminal" in result.stderr


def test_serve_keeps_its_own_host_and_port_flags(start_canal):
    # The root command's --host and -p (wscat's) must not take serve's --host and -p.
    server = start_canal("serve", "-p", "0", "--host", "127.0.0.7")
    server.expect_stdout(r"^Canal demo server listening on http://127\.0\.0\.7:\d+/$", timeout=30)
    echo = start_canal("serve", "--echo-only", "-p", "0", "--host", "127.0.0.7")
    echo.expect_stdout(r"^Canal echo server listening on ws://127\.0\.0\.7:\d+/$", timeout=30)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--echo-only", "--public", "/tmp"], "--public serves the site; it does not go with --echo-only"),
        (["--echo-only", "--no-access-log"], "--no-access-log serves the site"),
        (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--compression-threshold", "10"], "--compression-threshold needs --compression"),
        (["--compression", "fastest"], "The value 'fastest' is invalid for '--compression <preset>'"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--async"], "--async goes with --echo-only"),
    ],
)
def test_serve_usage_errors(argv, message):
    result = run_canal("serve", *argv)
    assert result.returncode == 2, result
    assert message in result.stderr, result
    assert result.stdout == ""


def test_subcommand_usage_errors_name_the_subcommand():
    result = run_canal("serve", "--bogus")
    assert result.returncode == 2, result
    assert "error: Unknown option '--bogus'" in result.stderr
    assert "Usage: canal serve" in result.stderr
    assert "See 'canal serve --help'" in result.stderr
