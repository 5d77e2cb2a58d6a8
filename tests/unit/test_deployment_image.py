"""The deployment image and its TLS front, read from the files: a supported base, a user that is not root, no state
or keys in the build context, and access logs that never hold a private document link.

Docker cannot build here, so the Dockerfile and .dockerignore are parsed; the TLS example is parsed, and when nginx
and openssl are on the machine, it is checked by ``nginx -t`` and run on loopback ports to read what it logs.
"""

from __future__ import annotations

import http.client
import re
import shlex
import shutil
import ssl
import string
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from bot import settings
from bot.ops import deploy
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
TLS_EXAMPLE = ROOT / "deploy" / "nginx" / "tls.conf.example"
TEMPLATE = ROOT / "deploy" / "nginx" / "sen-support.conf.template"

# The ports the processes of the image listen on: Rasa, the action server, the web server, the Telegram app.
SERVICE_PORTS = {"5005", "5055", "5056", "5058"}


# --- The Dockerfile -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Docker's reading of a Dockerfile: comment lines dropped, backslash-continued lines joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@lru_cache(maxsize=1)
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


def env_of(instructions: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword != "ENV":
            continue
        words = shlex.split(instruction.arguments)
        if "=" not in words[0]:  # the old form: ENV NAME value
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            name, _, value = word.partition("=")
            values[name] = value
    return values


def user_at_each(instructions: list[Instruction]) -> list[str]:
    """The user each instruction runs as (root until a USER says otherwise)."""
    user, users = "root", []
    for instruction in instructions:
        if instruction.keyword == "USER":
            user = instruction.arguments.split(":")[0]
        users.append(user)
    return users


def runs(instructions: list[Instruction], fragment: str) -> list[int]:
    return [i for i, ins in enumerate(instructions) if ins.keyword == "RUN" and fragment in ins.arguments]


def test_the_dockerfile_parser_reads_continuations_and_comments() -> None:
    parsed = parse_dockerfile('FROM a\n# note\nRUN one \\\n  # inside\n  two\nenv X=1 \\\n    Y="b c"\n')
    assert parsed == [Instruction("FROM", "a"), Instruction("RUN", "one two"), Instruction("ENV", 'X=1 Y="b c"')]
    assert env_of(parsed) == {"X": "1", "Y": "b c"}
    assert user_at_each([*parsed, Instruction("USER", "sen:sen"), Instruction("RUN", "x")])[-2:] == ["sen", "sen"]


def test_the_image_is_ubuntu_22_04_whose_python_3_10_still_gets_security_fixes() -> None:
    bases = [ins.arguments for ins in dockerfile() if ins.keyword == "FROM"]
    assert bases, "no FROM"
    for base in bases:
        assert re.fullmatch(r"ubuntu:22\.04(@sha256:[0-9a-f]{64})?", base), f"{base}: use ubuntu:22.04 (or its digest)"
    # Ubuntu's python3.10 is on PATH, where scripts/find-python.sh looks first.
    assert "python3.10" in (ROOT / "scripts" / "find-python.sh").read_text().split("candidates=(")[1].split(")")[0]


def test_the_system_packages_are_installed_lean_and_the_lists_cleaned() -> None:
    installs = runs(dockerfile(), "apt-get install")
    assert len(installs) == 1
    command = dockerfile()[installs[0]].arguments
    words = set(command.split())
    assert "--no-install-recommends" in words
    needed = {"python3", "python3-venv", "python3-dev", "gcc", "make", "libpq5", "libpango-1.0-0", "libpangoft2-1.0-0"}
    needed |= {"nodejs", "npm"}  # for npm ci only (see the purge below)
    assert needed <= words, f"missing: {sorted(needed - words)}"
    assert "rm -rf /var/lib/apt/lists/*" in command


def test_the_image_builds_as_make_does_and_as_its_own_unprivileged_user() -> None:
    instructions = dockerfile()
    users = user_at_each(instructions)
    [created] = runs(instructions, "useradd")
    useradd = shlex.split(instructions[created].arguments.split("useradd", 1)[1].split("&&")[0])
    name, uid = useradd[-1], useradd[useradd.index("--uid") + 1]
    assert name != "root" and int(uid) >= 1000, "a user of its own, not root and not a login user's uid"

    [venv] = runs(instructions, "make venv")
    [copy_all] = [i for i, ins in enumerate(instructions) if ins.keyword == "COPY" and ins.arguments.endswith(" . .")]
    [build] = runs(instructions, "make spacy train node")
    assert venv < copy_all < build, "make venv, then COPY . ., then make spacy train node"
    for step in (venv, build):
        assert users[step] == name, f"{instructions[step].arguments} must run as {name}, so it owns what it makes"
    for i, ins in enumerate(instructions):
        if ins.keyword == "COPY" and users[i] == name:
            assert f"--chown={name}" in ins.arguments, f"COPY {ins.arguments}: the files must belong to {name}"

    # Node.js 12 (past its end of life) is only for npm ci: removed after it, in an instruction run as root.
    [purge] = runs(instructions, "apt-get purge")
    assert build < purge and {"nodejs", "npm"} <= set(instructions[purge].arguments.split())
    assert users[purge] == "root"

    assert users[-1] == name, "the image must end as its own user, not root"
    assert [ins for ins in instructions if ins.keyword == "USER"][-1].arguments.split(":")[0] not in ("root", "0")


def test_only_the_services_ports_are_exposed_and_there_is_no_single_healthcheck() -> None:
    exposed = {port.split("/")[0] for ins in dockerfile() if ins.keyword == "EXPOSE" for port in ins.arguments.split()}
    assert exposed, "EXPOSE documents the services' ports"
    assert exposed <= SERVICE_PORTS, f"not a port of the image's services: {sorted(exposed - SERVICE_PORTS)}"
    assert not [ins for ins in dockerfile() if ins.keyword == "HEALTHCHECK"], "one image runs several services"


def test_the_environment_keeps_rasa_quiet_and_the_venv_first() -> None:
    env = env_of(dockerfile())
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    assert env["PATH"].startswith("/app/.venv/bin:")
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert env["SEN_BIND_HOST"] == "0.0.0.0"


# --- .dockerignore ------------------------------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker's matcher reads it: `**` any number of folders, `*` and `?` within one."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out += "(.*/)?" if i < len(pattern) else ".*"
            else:
                out += ".*"
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out)


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes, pattern) for each line, in order: a later line wins, `!` brings a path back."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line[1:].strip() if keep else line
        pattern = re.sub("/+", "/", pattern).strip("/")
        rules.append((not keep, _pattern_regex(pattern)))
    return rules


def excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether Docker leaves ``path`` out of the build context: a rule matches the path or a folder above it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for excludes, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = excludes
    return verdict


def test_the_dockerignore_matcher_reads_patterns_as_docker_does() -> None:
    rules = dockerignore_rules("var\n**/*.pyc\n!keep.pyc\n/docs/*.md\n__pycache__\n")
    assert excluded("var/identity.key", rules) and excluded("var", rules)
    assert excluded("a/b/c.pyc", rules) and excluded("c.pyc", rules) and not excluded("keep.pyc", rules)
    assert excluded("docs/a.md", rules) and not excluded("docs/sub/a.md", rules)
    assert excluded("__pycache__/x", rules) and not excluded("bot/__pycache__/x", rules), "only at the top"
    assert not excluded("variables.py", rules) and not excluded("bot/var/x", rules)


@lru_cache(maxsize=1)
def ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    return dockerignore_rules(DOCKERIGNORE.read_text())


@pytest.mark.parametrize(
    "path",
    [
        "var/identity.key",
        "var/sen-support.db",
        "var/scaled/log/nginx.log",
        ".venv/bin/python",
        ".venv/lib/python3.10/site-packages/rasa/__init__.py",
        ".git/config",
        ".git/objects/pack/pack-1.pack",
        "node_modules/socket.io-client/dist/socket.io.min.js",
        "node_modules/.installed",
        "build/spacy/en_sen_support/meta.json",
        "build/encoder/all-MiniLM-L6-v2/config.json",
        "models/sen-support.tar.gz",
        "results/crossval/intent_report.json",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.10/bot/settings.meta.json",
        ".ruff_cache/CACHEDIR.TAG",
        ".rasa/cache/cache.db",
        "bot/__pycache__/settings.cpython-310.pyc",
        "bot/nlp/__pycache__/build.cpython-310.pyc",
        "bot/nlp/__pycache__",
        "tests/unit/test_deployment_image.py",
        ".env",
    ],
)
def test_state_keys_history_and_built_files_stay_out_of_the_image(path: str) -> None:
    assert excluded(path, ignore_rules()), f"{path} would be sent to docker build"


def _needed_in_the_image() -> list[str]:
    """Every file the build and the services read: the Dockerfile's own COPY sources, and the project's files."""
    copied = [
        word.rstrip("/")
        for ins in dockerfile()
        if ins.keyword == "COPY"
        for word in ins.arguments.split()[:-1]
        if not word.startswith("--") and word != "."
    ]
    project = [
        path.relative_to(ROOT).as_posix()
        for folder in ("bot", "actions", "knowledge", "domain", "data", "scripts", "deploy", "bench")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    root = ["Makefile", "config.yml", "credentials.yml", "endpoints.yml", "package.json", "package-lock.json"]
    return sorted(set(copied + project + root))


def test_what_the_build_and_the_services_need_is_kept() -> None:
    needed = _needed_in_the_image()
    assert {"requirements.txt", "requirements-pip.txt", "requirements-nodeps.txt", "scripts/find-python.sh"} <= set(
        needed
    )
    assert {"bot/settings.py", "bot/nlp/build.py", "bot/nlp/patterns.yml", "deploy/endpoints.yml"} <= set(needed)
    left_out = [path for path in needed if excluded(path, ignore_rules())]
    assert not left_out, f"needed in the image but left out by .dockerignore: {left_out[:10]}"


def test_make_spacy_train_and_node_read_nothing_under_tests() -> None:
    """tests/ is left out of the image, so the Makefile rules the Dockerfile runs must not read it."""
    makefile = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+) :?= (.*(?:\\\n.*)*)$", makefile, flags=re.MULTILINE))
    targets = ["venv", "spacy", "train", "node", "$(VENV)/.installed", "$(SPACY_MODEL)/meta.json", "$(MODEL)"]
    rules = ""
    for target in [*targets, "node_modules/.installed"]:
        found = re.search(rf"^{re.escape(target)}:.*\n(?:\t.*\n)*", makefile, flags=re.MULTILINE)
        assert found, f"no rule for {target}"
        rules += found[0]
    for name in re.findall(r"\$\((\w+)\)", rules):
        rules += " " + variables.get(name, "")
    assert "bot.nlp.build" in rules and "npm ci" in rules and "find domain data" in rules, "the rules were not read"
    assert not re.search(r"\btests\b", rules)


# --- The TLS example ----------------------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [child for child in self.block or [] if child.name == name]


def _nginx_tokens(text: str) -> list[tuple[str, bool]]:
    """nginx's tokens, each with whether it was quoted: `#` starts a comment outside quotes, `${...}` is one word."""
    tokens: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif char in "{};":
            tokens.append((char, False))
            i += 1
        elif char in "\"'":
            value, i = "", i + 1
            while text[i] != char:
                if text[i] == "\\" and text[i + 1] in "\"'\\":
                    i += 1
                value += text[i]
                i += 1
            tokens.append((value, True))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in ";{}":
                if text.startswith("${", i):
                    i = text.index("}", i)
                i += 1
            tokens.append((text[start:i], False))
    return tokens


def parse_nginx(text: str) -> list[Directive]:
    tokens = _nginx_tokens(text)
    position = 0

    def block() -> list[Directive]:
        nonlocal position
        directives: list[Directive] = []
        words: list[str] = []
        while position < len(tokens):
            token, quoted = tokens[position]
            position += 1
            if quoted:
                words.append(token)
            elif token == ";":
                directives.append(Directive(words[0], words[1:]))
                words = []
            elif token == "{":
                directives.append(Directive(words[0], words[1:], block()))
                words = []
            elif token == "}":
                assert not words, f"unfinished directive {words}"
                return directives
            else:
                words.append(token)
        assert not words, f"unfinished directive {words}"
        return directives

    return block()


def test_the_nginx_parser_reads_blocks_quotes_and_comments() -> None:
    parsed = parse_nginx('a 1; # x { ;\nb { c \'2; #\' "3\\""; limit burst=${SEN_X} nodelay; }\n')
    assert [d.name for d in parsed] == ["a", "b"] and parsed[0].args == ["1"]
    block = parsed[1].block or []
    assert block[0] == Directive("c", ["2; #", '3"']) and block[1].args == ["burst=${SEN_X}", "nodelay"]


@lru_cache(maxsize=1)
def example() -> list[Directive]:
    return parse_nginx(TLS_EXAMPLE.read_text())


def servers_of(directives: list[Directive]) -> list[Directive]:
    return [d for d in directives if d.name == "server"]


def listens(server: Directive) -> list[list[str]]:
    return [d.args for d in server.all("listen")]


def variables(fmt: str) -> set[str]:
    return set(re.findall(r"\$\{?(\w+)\}?", fmt))


# What a log line must never hold: a request line or path with its query, the query itself, credentials, cookies,
# the Referer (a page's address, which may be a document's) and a redirect's Location (which repeats the path).
FORBIDDEN_IN_LOGS = {
    "request",
    "request_uri",
    "uri",
    "document_uri",
    "args",
    "query_string",
    "request_body",
    "http_authorization",
    "http_cookie",
    "http_referer",
    "sent_http_location",
}
FORBIDDEN_PREFIXES = ("arg_", "cookie_")


def log_formats() -> dict[str, str]:
    return {d.args[0]: "".join(d.args[1:]) for d in example() if d.name == "log_format"}


def test_every_log_format_writes_the_loggable_path_and_nothing_private() -> None:
    formats = log_formats()
    assert formats, "the example defines its log format"
    for name, fmt in formats.items():
        used = variables(fmt)
        assert not used & FORBIDDEN_IN_LOGS, f"log_format {name} writes {sorted(used & FORBIDDEN_IN_LOGS)}"
        assert not [v for v in used if v.startswith(FORBIDDEN_PREFIXES)], f"log_format {name} writes a query value"
        assert "sen_loggable_uri" in used, f"log_format {name} must write the path through $sen_loggable_uri"


def _loggable_map() -> Directive:
    [found] = [d for d in example() if d.name == "map" and d.args == ["$request_uri", "$sen_loggable_uri"]]
    return found


def _capture(found: re.Match[str], name: str) -> str:
    """A map value's ``$name`` or ``$1``: the regex's capture of that name or number."""
    return found[int(name)] if name.isdigit() else found.groupdict().get(name) or ""


def loggable(request_uri: str) -> str:
    """What the example's map makes of a request URI, read as nginx does: exact keys, then regexes in order."""
    entries = [(d.name, d.args[0]) for d in _loggable_map().block or []]
    exact = {key: value for key, value in entries if not key.startswith("~") and key != "default"}
    if request_uri in exact:
        return exact[request_uri]
    for key, value in entries:
        if not key.startswith("~"):
            continue
        flags = re.IGNORECASE if key.startswith("~*") else 0
        regex = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", key.lstrip("~*"))
        found = re.search(regex, request_uri, flags)
        if found:
            return re.sub(r"\$\{?(\w+)\}?", lambda name, found=found: _capture(found, name[1]), value)
    return dict(entries).get("default", "")


@pytest.mark.parametrize(
    ("request_uri", "logged"),
    [
        ("/documents/Tok3nForAPlan.pdf", "/documents/[private link]"),
        ("/documents/Tok3nForAPlan.html?download=1", "/documents/[private link]"),
        ("//documents/Tok3nForAPlan.pdf", "/documents/[private link]"),
        ("/Documents/Tok3nForAPlan.pdf", "/documents/[private link]"),
        ("/webhooks/rest/webhook", "/webhooks/rest/webhook"),
        ("/assets/sen-chat.css?v=Tok3nForAPlan", "/assets/sen-chat.css"),
        ("/socket.io/?EIO=4&transport=polling&sid=Tok3nForAPlan", "/socket.io/"),
        ("/", "/"),
    ],
)
def test_the_map_hides_document_links_and_drops_query_strings(request_uri: str, logged: str) -> None:
    assert loggable(request_uri) == logged


def test_every_access_log_uses_the_private_format() -> None:
    formats = log_formats()
    access_logs = [d for d in example() if d.name == "access_log"]
    access_logs += [d for server in servers_of(example()) for d in _walk(server) if d.name == "access_log"]
    assert access_logs
    for log in access_logs:
        assert log.args == ["off"] or (len(log.args) >= 2 and log.args[1] in formats), f"access_log {log.args}"
    # nginx's own nginx.conf logs `main` (with $request) at the http level: the example turns it off there,
    # and every server of its own names its log.
    assert ["off"] in [d.args for d in example() if d.name == "access_log"]
    for server in servers_of(example()):
        assert [d.args[1] for d in server.all("access_log")] == ["sen_private"], f"server {listens(server)}"


def _walk(directive: Directive) -> list[Directive]:
    found = []
    for child in directive.block or []:
        found.append(child)
        found.extend(_walk(child))
    return found


def test_tls_only_1_2_and_1_3_with_hsts_and_http_sent_to_https() -> None:
    servers = servers_of(example())
    [tls] = [s for s in servers if ["443", "ssl", "http2"] in listens(s)]
    [plain] = [s for s in servers if any(args[0] == "80" for args in listens(s))]
    assert [d.args for d in tls.all("ssl_protocols")] == [["TLSv1.2", "TLSv1.3"]]
    assert tls.all("ssl_certificate") and tls.all("ssl_certificate_key")
    [hsts] = [d for d in tls.all("add_header") if d.args[0] == "Strict-Transport-Security"]
    max_age = re.fullmatch(r"max-age=(\d+)(; includeSubDomains)?", hsts.args[1])
    assert max_age and int(max_age[1]) >= 15768000, "HSTS for at least six months"
    assert hsts.args[-1] == "always", "HSTS on every reply, errors too"
    redirects = [d.args for d in _walk(plain) if d.name == "return"]
    assert redirects == [["301", "https://$host$request_uri"]]
    assert not [d for d in _walk(plain) if d.name == "proxy_pass"], "plain HTTP serves nothing"


def _public_server(directives: list[Directive]) -> Directive:
    [public] = [s for s in servers_of(directives) if listens(s) == [["${SEN_PUBLIC_LISTEN}"]]]
    return public


def _locations(server: Directive) -> dict[str, list[tuple[str, list[str]]]]:
    return {" ".join(d.args): [(c.name, c.args) for c in d.block or []] for d in server.all("location")}


def test_the_tls_server_keeps_the_templates_public_paths_and_limits() -> None:
    # The upstreams' servers are filled in whole, semicolons included; the limits stay as written, as in the example.
    servers = {name: "server 127.0.0.1:1;" for name in ("SEN_RASA_SERVERS", "SEN_ACTION_SERVERS", "SEN_WEB_SERVERS")}
    template = _public_server(parse_nginx(string.Template(TEMPLATE.read_text()).safe_substitute(servers)))
    [tls] = [s for s in servers_of(example()) if ["443", "ssl", "http2"] in listens(s)]
    ours, theirs = _locations(tls), _locations(template)
    for path, directives in theirs.items():
        assert ours.get(path) == directives, f"location {path} differs from the template's public server"
    # The private links: as `/`, and nginx's error log (which writes the request line) kept to critical errors.
    documents = [d for d in ours["/documents/"] if d[0] != "error_log"]
    assert documents == theirs["/"]
    assert [d[1][-1] for d in ours["/documents/"] if d[0] == "error_log"] == ["crit"]
    assert set(ours) - set(theirs) == {"/documents/"}
    # Logging differs on purpose: the template logs nothing, the example logs without document paths.
    own = ("listen", "access_log")
    settings_of = {(d.name, tuple(d.args)) for d in template.block or [] if d.block is None and d.name not in own}
    assert settings_of <= {(d.name, tuple(d.args)) for d in tls.block or [] if d.block is None}
    assert ("access_log", ("off",)) in {(d.name, tuple(d.args)) for d in template.block or [] if d.block is None}


# --- nginx itself, when it is on the machine ----------------------------------------------------------------------

# nginx's own image's nginx.conf (the one compose runs), with its paths in a temporary folder.
IMAGE_NGINX_CONF = """worker_processes 1;
error_log {folder}/error.log notice;
pid {folder}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    default_type application/octet-stream;
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';
    access_log  {folder}/main-access.log  main;
    client_body_temp_path {folder}/temp/body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    include {folder}/conf.d/*.conf;
}}
"""


@dataclass
class Site:
    folder: Path
    config: Path
    https_port: int
    http_port: int
    public_port: int


@pytest.fixture
def tls_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The example beside the filled-in template, as compose loads them, on loopback ports with a new certificate."""
    nginx, openssl = shutil.which("nginx") or "/usr/sbin/nginx", shutil.which("openssl")
    if not Path(nginx).exists() or not openssl:
        pytest.skip("nginx or openssl is not installed")
    for name in ("SEN_PUBLIC_HOST", "SEN_RATE_PER_ADDRESS", "SEN_RATE_BURST"):
        monkeypatch.delenv(name, raising=False)
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(
        [
            *[openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
            *["-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem"), "-days", "1"],
            *["-subj", "/CN=sen-support.example.org"],
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "temp").mkdir()
    (tmp_path / "conf.d").mkdir()
    # The web server's address is a closed port: every proxied request fails, and is logged as failing.
    layout = deploy.Layout(
        public_port=free_port(),
        action_proxy_port=free_port(),
        rasa_ports=[free_port()],
        action_ports=[free_port()],
        web_port=free_port(),
    )
    (tmp_path / "conf.d" / "sen-support.conf").write_text(deploy.nginx_site(layout))
    site = Site(tmp_path, tmp_path / "nginx.conf", free_port(), free_port(), layout.public_port)
    text = string.Template(TLS_EXAMPLE.read_text()).safe_substitute(SEN_RATE_BURST=str(settings.rate_burst()))
    replacements = {
        "/etc/nginx/tls/": f"{tls}/",
        "/var/log/nginx/": f"{tmp_path}/",
        "listen 443 ": f"listen 127.0.0.1:{site.https_port} ",
        "listen 80 ": f"listen 127.0.0.1:{site.http_port} ",
    }
    for placeholder, value in replacements.items():
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    assert "${SEN_" not in "\n".join(line.split("#")[0] for line in text.splitlines()), "a value left unfilled"
    # Named as compose's nginx names it (sen-support-tls.conf.template), so it is loaded before the template.
    (tmp_path / "conf.d" / "sen-support-tls.conf").write_text(text)
    site.config.write_text(IMAGE_NGINX_CONF.format(folder=tmp_path))
    return site


def _nginx() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def test_nginx_accepts_the_example_beside_the_template(tls_site: Site) -> None:
    checked = subprocess.run(
        [_nginx(), "-t", "-c", str(tls_site.config), "-e", str(tls_site.folder / "error.log")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def _get(connection: http.client.HTTPConnection, path: str, **headers: str) -> http.client.HTTPResponse:
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


def test_what_nginx_logs_holds_no_document_link_no_query_and_no_credentials(tls_site: Site) -> None:
    nginx = subprocess.Popen(
        [_nginx(), "-c", str(tls_site.config), "-e", str(tls_site.folder / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                https = http.client.HTTPSConnection("127.0.0.1", tls_site.https_port, timeout=5, context=context)
                health = _get(https, "/healthz")
                break
            except OSError:
                assert nginx.poll() is None, nginx.stderr.read().decode() if nginx.stderr else "nginx stopped"
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)
        assert health.status == 200
        assert "max-age=" in (health.getheader("Strict-Transport-Security") or "")
        assert isinstance(https.sock, ssl.SSLSocket) and https.sock.version() in ("TLSv1.2", "TLSv1.3")

        document = _get(
            https,
            "/documents/SECRET-a1.pdf?download=SECRET-a2",
            Authorization="Bearer SECRET-a3",
            Cookie="session=SECRET-a4",
            Referer="https://sen-support.example.org/documents/SECRET-a5.html",
        )
        assert document.status == 502, "the web server's stand-in address is closed"
        assert _get(https, "/assets/sen-chat.css?v=SECRET-a6").status == 502

        plain = http.client.HTTPConnection("127.0.0.1", tls_site.http_port, timeout=5)
        redirect = _get(plain, "/documents/SECRET-b1.html?x=SECRET-b2")
        assert redirect.status == 301
        assert redirect.getheader("Location") == "https://127.0.0.1/documents/SECRET-b1.html?x=SECRET-b2"

        # The template's own public server (inside compose's network): nginx.conf's `main` log is off for it.
        internal = http.client.HTTPConnection("127.0.0.1", tls_site.public_port, timeout=5)
        assert _get(internal, "/documents/SECRET-c1.pdf").status == 502
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)

    access = (tls_site.folder / "access.log").read_text()
    lines = access.splitlines()
    assert len(lines) == 4, access
    assert sum('"GET /documents/[private link] HTTP/1.1"' in line for line in lines) == 2
    assert '"GET /assets/sen-chat.css HTTP/1.1" 502' in access and '"GET /healthz HTTP/1.1" 200' in access
    assert "SECRET" not in access and "?" not in access
    assert not (tls_site.folder / "main-access.log").read_text(), "nginx.conf's `main` log writes $request"

    errors = (tls_site.folder / "error.log").read_text()
    assert "/assets/sen-chat.css" in errors, "a failed request is in the error log, with its request line"
    for secret in ("SECRET-a1", "SECRET-a2", "SECRET-a3", "SECRET-a5", "SECRET-b1"):
        assert secret not in errors, f"{secret}: the error log holds a private link"
