"""The pure logic of canal (slash commands, hex dump, backoff, headers, line
editor keys, redirects), exercised through the hidden `canal internals` command."""

from __future__ import annotations

import pytest

from cli_support import run_canal


@pytest.mark.parametrize(
    "line, summary",
    [
        ("/ping", "ping -"),
        ("/ping hello world", "ping 68656c6c6f20776f726c64"),
        ("/pong x", "pong 78"),
        ("/close", 'close 1000 ""'),
        ("/close 4000", 'close 4000 ""'),
        ("/close 4000 bye bye", 'close 4000 "bye bye"'),
        ("/close 4000, bye", 'close 4000 "bye"'),     # wscat's documented form
        ("/close 4000 ,bye", 'close 4000 "bye"'),
        ("/binary hex 01ff", "binary 01ff"),
        ("/binary hex 01 FF:0a", "binary 01ff0a"),
        ("/binary hex 0x00", "binary 00"),
        ("/binary base64 AQI=", "binary 0102"),
        ("/binary base64 AQI", "binary 0102"),          # padding is optional
        ("/binary b64 /w==", "binary ff"),
        ("//not a command", 'text "/not a command"'),
        ("/help", "help"),
        ("plain text", 'message "plain text"'),
    ],
)
def test_slash_command_parsing(line, summary):
    result = run_canal("internals", "slash", line)
    assert result.returncode == 0, result
    assert result.stdout.strip() == summary


@pytest.mark.parametrize(
    "line, error",
    [
        ("/frobnicate", "unknown command /frobnicate"),
        ("/close 1005", "close code 1005 cannot be sent"),
        ("/close 999", "close code 999 cannot be sent"),
        ("/close 2999", "close code 2999 cannot be sent"),
        ("/close abc", "is not a number"),
        ("/close 1000 " + "r" * 124, "limited to 123 bytes"),
        ("/ping " + "p" * 126, "limited to 125 bytes"),
        ("/binary", "usage: /binary"),
        ("/binary hex", "usage: /binary"),
        ("/binary octal 17", "usage: /binary"),
        ("/binary hex 0g", "not an even number of hex digits"),
        ("/binary hex 123", "not an even number of hex digits"),
        ("/binary base64 !!", "not valid base64"),
        ("/binary file /nonexistent/file", "cannot read file"),
    ],
)
def test_slash_command_errors(line, error):
    result = run_canal("internals", "slash", line)
    assert result.returncode == 1, result
    assert error in result.stdout


def test_slash_binary_file(tmp_path):
    path = tmp_path / "payload.bin"
    path.write_bytes(bytes([0, 1, 2, 255]))
    result = run_canal("internals", "slash", f"/binary file {path}")
    assert result.returncode == 0, result
    assert result.stdout.strip() == "binary 000102ff"


def test_hex_dump_layout_matches_hexdump_c():
    data = b"Hello, WebSocket!\x00\x01\xff" + bytes(range(0x20, 0x30))
    result = run_canal("internals", "hexdump", input=data)
    assert result.returncode == 0, result
    assert result.lines == [
        "00000000  48 65 6c 6c 6f 2c 20 57  65 62 53 6f 63 6b 65 74  |Hello, WebSocket|",
        "00000010  21 00 01 ff 20 21 22 23  24 25 26 27 28 29 2a 2b  |!... !\"#$%&'()*+|",
        "00000020  2c 2d 2e 2f                                       |,-./|",
    ]


def test_hex_dump_limit_says_how_much_is_left():
    result = run_canal("internals", "hexdump", "--limit", "4", input=bytes(20))
    assert result.lines == [
        "00000000  00 00 00 00                                       |....|",
        "... 16 more bytes",
    ]


def test_hex_dump_of_nothing_is_empty():
    result = run_canal("internals", "hexdump", input=b"")
    assert result.returncode == 0 and result.stdout == ""


def test_backoff_doubles_from_half_a_second_to_thirty():
    result = run_canal("internals", "backoff", "--attempts", "9")
    assert result.lines == ["0.500", "1.000", "2.000", "4.000", "8.000", "16.000", "30.000", "30.000", "30.000"]


@pytest.mark.parametrize("random, first", [("0", "0.400"), ("0.999999", "0.600")])
def test_backoff_jitter_stays_within_twenty_percent(random, first):
    result = run_canal("internals", "backoff", "--attempts", "1", "--random", random)
    assert result.lines == [first]


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("X-Token: abc", 'name "X-Token" value "abc"'),
        ("Cookie:a=b; c=d", 'name "Cookie" value "a=b; c=d"'),
        ("X-Empty:", 'name "X-Empty" value ""'),
        ("X-Colons: a:b:c", 'name "X-Colons" value "a:b:c"'),
    ],
)
def test_header_parsing(text, parsed):
    result = run_canal("internals", "header", text)
    assert result.returncode == 0, result
    assert result.stdout.strip() == parsed


@pytest.mark.parametrize("text", ["nocolon", ": value", "Bad Name: x", "Ünï: x"])
def test_header_errors(text):
    result = run_canal("internals", "header", text)
    assert result.returncode == 1, result


ESC = b"\x1b"
LEFT, RIGHT, UP, DOWN = ESC + b"[D", ESC + b"[C", ESC + b"[A", ESC + b"[B"
HOME, END, DELETE = ESC + b"[H", ESC + b"[F", ESC + b"[3~"


@pytest.mark.parametrize(
    "keys, output",
    [
        (b"hello\r", ['submit "hello"', 'line "" cursor 0']),
        (b"abc" + LEFT + LEFT + b"X\r", ['submit "aXbc"', 'line "" cursor 0']),
        (b"abc" + HOME + b"<" + END + b">\r", ['submit "<abc>"', 'line "" cursor 0']),
        (b"abc\x01<\x05>\r", ['submit "<abc>"', 'line "" cursor 0']),               # Ctrl-A, Ctrl-E
        (b"abc\x7f\x7fz\r", ['submit "az"', 'line "" cursor 0']),                    # Backspace
        (b"abc" + HOME + DELETE + b"\r", ['submit "bc"', 'line "" cursor 0']),
        (b"one two three\x17\x17x\r", ['submit "one x"', 'line "" cursor 0']),       # Ctrl-W
        (b"abc" + LEFT + b"\x15\r", ['submit "c"', 'line "" cursor 0']),             # Ctrl-U
        (b"abc" + LEFT + LEFT + b"\x0b\r", ['submit "a"', 'line "" cursor 0']),      # Ctrl-K
        (b"first\rsecond\r" + UP + UP + b"!\r", ['submit "first"', 'submit "second"', 'submit "first!"', 'line "" cursor 0']),
        (b"a\rb\r" + UP + UP + DOWN + b"\r", ['submit "a"', 'submit "b"', 'submit "b"', 'line "" cursor 0']),
        (b"a\rdraft" + UP + DOWN, ['submit "a"', 'line "draft" cursor 5']),          # Down returns to the draft
        (b"x\x03", ['interrupt', 'line "x" cursor 1']),                              # Ctrl-C
        (b"\x04", ['eof', 'line "" cursor 0']),                                      # Ctrl-D on an empty line
        (b"ab" + LEFT + b"\x04", ['line "a" cursor 1']),                             # Ctrl-D deletes otherwise
        ("héllo→".encode() + LEFT + b"!\r", ['submit "héllo!→"', 'line "" cursor 0']),  # UTF-8
        (b"ab" + ESC + b"OD" + b"-", ['line "a-b" cursor 2']),                       # ESC O form
        (b"one two" + ESC + b"b" + b"_", ['line "one _two" cursor 5']),             # Alt-B
        (b"x" + ESC + b"[1;5D" + b"y", ['line "yx" cursor 1']),                      # Ctrl-Left
    ],
)
def test_line_editor_keys(keys, output):
    result = run_canal("internals", "keys", input=keys)
    assert result.returncode == 0, result
    assert result.lines == output


@pytest.mark.parametrize(
    "base, location, target",
    [
        ("ws://h:8080/a/b?q=1", "ws://other/x", "ws://other/x"),
        ("ws://h:8080/a/b", "https://other/x", "https://other/x"),
        ("ws://h:8080/a/b", "//other:9/x", "ws://other:9/x"),
        ("wss://h/a/b", "/root", "wss://h/root"),
        ("ws://h:8080/a/b?q=1", "c?d=2", "ws://h:8080/a/c?d=2"),
    ],
)
def test_redirect_resolution(base, location, target):
    result = run_canal("internals", "redirect", base, location)
    assert result.returncode == 0, result
    assert result.stdout.strip() == target
