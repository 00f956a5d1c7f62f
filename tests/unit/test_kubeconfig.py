"""lab's own kubeconfig reader (kube/kubeconfig.py, credentials.py, config.py): every auth form,
merges of several files, paths relative to the file that holds them, exec credential plugins
(a small Python script plays the plugin) with their cache, and bad files as one-line errors.
Over the wire (TLS, client certificates, proxies, a 401): tests/engine/test_kubeconfig_wire.py."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from illm_lab.base.errors import ClusterError, ConfigError
from illm_lab.kube import config as kconfig
from illm_lab.kube import credentials
from illm_lab.kube.kubeconfig import select

SECRET = "s3cr3t-DO-NOT-PRINT"
V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"

PLUGIN = """#!{python}
import json, os, sys
from datetime import datetime, timedelta, timezone
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
with open(os.environ["PLUGIN_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "info": info, "extra": os.environ.get("PLUGIN_EXTRA"),
                          "stdin_closed": sys.stdin is None or not sys.stdin.isatty()}}) + "\\n")
with open(os.environ["PLUGIN_LOG"]) as log:
    n = len(log.read().splitlines())
mode = os.environ.get("PLUGIN_MODE", "token")
if mode == "fail":
    print("plugin: your login has expired; run plugin login", file=sys.stderr)
    sys.exit(3)
if mode == "garbage":
    print("not json")
    sys.exit(0)
if mode == "empty":
    print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": {{}}}}))
    sys.exit(0)
api = "client.authentication.k8s.io/v1alpha1" if mode == "wrong-version" else info["apiVersion"]
status = {{"token": "tok-%d-{secret}" % n}}
if os.environ.get("PLUGIN_EXPIRES"):
    at = datetime.now(timezone.utc) + timedelta(seconds=float(os.environ["PLUGIN_EXPIRES"]))
    status["expirationTimestamp"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({{"apiVersion": api, "kind": "ExecCredential", "status": status}}))
"""


@pytest.fixture(autouse=True)
def fresh_exec_cache() -> Iterator[None]:
    credentials._issued.clear()
    yield
    credentials._issued.clear()


def kubeconfig(path: Path, *, user: dict[str, Any] | None = None, cluster: dict[str, Any] | None = None,
               context: dict[str, Any] | None = None, name: str = "ctx", current: str | None = "ctx",
               **extra: Any) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", **(cluster or {})}}],
        "users": [{"name": "u", "user": user or {}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": "u", **(context or {})}}],
        **extra,
    }
    if current is not None:
        doc["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def plugin_script(folder: Path, name: str = "plugin") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(PLUGIN.format(python=sys.executable, secret=SECRET))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def exec_user(command: str, log: Path, *, api: str = V1, mode: str = "token", expires: float | None = None,
              **more: Any) -> dict[str, Any]:
    env = [{"name": "PLUGIN_LOG", "value": str(log)}, {"name": "PLUGIN_MODE", "value": mode}]
    if expires is not None:
        env.append({"name": "PLUGIN_EXPIRES", "value": str(expires)})
    spec: dict[str, Any] = {"apiVersion": api, "command": command, "env": env, **more}
    if api == V1:
        spec.setdefault("interactiveMode", "Never")
    return {"exec": spec}


def runs(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def auth(path: Path, context: str | None = None) -> dict[str, str]:
    settings, _ = kconfig.load(path, context)
    return settings.credentials.headers()


def one_line_config_error(path: Path, context: str | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        kconfig.load(path, context)
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in message and SECRET not in message
    return caught.value


# ---------------------------------------------------------------- auth forms


def test_token_is_a_bearer_header_and_never_in_a_repr(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "kc", user={"token": SECRET})
    settings, target = kconfig.load(path, None)
    assert settings.credentials.headers() == {"Authorization": f"Bearer {SECRET}"}
    assert (target.context, target.server) == ("ctx", "https://127.0.0.1:6443")
    shown = repr(settings) + repr(select(str(path), None)) + repr(target)
    assert SECRET not in shown


def test_token_file_relative_to_the_kubeconfig_wins_and_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf" / "secrets").mkdir(parents=True)
    token = tmp_path / "conf" / "secrets" / "token"
    token.write_text("from-file-1\n")
    path = kubeconfig(tmp_path / "conf" / "kc", user={"token": "inline", "tokenFile": "secrets/token"})
    settings, _ = kconfig.load(path, None)
    assert settings.credentials.headers() == {"Authorization": "Bearer from-file-1"}
    token.write_text("from-file-2\n")  # a rotated projected token
    assert settings.credentials.headers() == {"Authorization": "Bearer from-file-1"}  # within the minute
    monkeypatch.setattr(credentials, "TOKEN_FILE_PERIOD", 0.0)
    assert settings.credentials.headers() == {"Authorization": "Bearer from-file-2"}
    token.unlink()  # a failed re-read keeps the last token
    assert settings.credentials.headers() == {"Authorization": "Bearer from-file-2"}


def test_home_in_paths_is_expanded(tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])  # the guard fixture's temporary home
    (home / "token").write_text("home-token")
    path = kubeconfig(tmp_path / "kc", user={"tokenFile": "~/token"})
    assert auth(path) == {"Authorization": "Bearer home-token"}


def test_basic_auth(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "kc", user={"username": "admin", "password": SECRET})
    expected = base64.b64encode(f"admin:{SECRET}".encode()).decode()
    assert auth(path) == {"Authorization": f"Basic {expected}"}


def test_no_user_is_anonymous(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "kc", context={"user": ""})
    assert auth(path) == {}


def test_client_certificate_paths_resolve_against_their_file(tmp_path: Path) -> None:
    selected = select(str(kubeconfig(tmp_path / "a" / "kc", user={
        "client-certificate": "pki/client.crt", "client-key": "/abs/client.key"},
        cluster={"certificate-authority": "../ca.crt"})), None)
    assert selected.user.cert_file == str(tmp_path / "a" / "pki" / "client.crt")
    assert selected.user.key_file == "/abs/client.key"
    assert os.path.normpath(selected.cluster.ca_file or "") == str(tmp_path / "ca.crt")


def test_data_fields_are_decoded_in_memory(tmp_path: Path) -> None:
    cert = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    path = kubeconfig(tmp_path / "kc", cluster={"certificate-authority-data": base64.b64encode(cert).decode(),
                                                "certificate-authority": "ignored.crt"})
    cluster = select(str(path), None).cluster
    assert cluster.ca_data == cert and cluster.ca_file is None  # -data wins over the file


def test_cluster_settings(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "kc", cluster={"insecure-skip-tls-verify": True, "tls-server-name": "kube.internal",
                                                "proxy-url": "http://proxy.example:3128"},
                      context={"namespace": "team"})
    settings, _ = kconfig.load(path, None)
    assert settings.ssl_context is not None and not settings.ssl_context.check_hostname
    assert (settings.tls_server_name, settings.proxy_url, settings.namespace) == (
        "kube.internal", "http://proxy.example:3128", "team")


def test_server_credentials_and_trailing_slash_are_dropped(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "kc", cluster={"server": f"https://admin:{SECRET}@127.0.0.1:6443/prefix/"})
    settings, target = kconfig.load(path, None)
    assert settings.server == target.server == "https://127.0.0.1:6443/prefix"


@pytest.mark.parametrize(("server", "env", "proxy"), [
    ("https://10.1.2.3:6443", {"HTTPS_PROXY": "http://p:3128"}, "http://p:3128"),
    ("https://10.1.2.3:6443", {"https_proxy": "p:3128"}, "http://p:3128"),
    ("https://10.1.2.3:6443", {"https_proxy": "http://p:3128", "NO_PROXY": "example.com,10.0.0.0/8"}, None),
    ("https://api.example.com", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "example.com"}, None),
    ("https://api.example.com", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "example.com:8443"}, "http://p:3128"),
    ("https://10.1.2.3:6443", {"HTTPS_PROXY": "http://p:3128", "no_proxy": "*"}, None),
    ("https://10.1.2.3:6443", {"HTTP_PROXY": "http://p:3128"}, None),  # https uses HTTPS_PROXY only
    ("http://10.1.2.3:8080", {"HTTP_PROXY": "http://p:3128"}, "http://p:3128"),
    ("https://127.0.0.1:6443", {"HTTPS_PROXY": "http://p:3128"}, None),  # loopback: never, as Go
])
def test_proxy_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str,
                                    env: dict[str, str], proxy: str | None) -> None:
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings, _ = kconfig.load(kubeconfig(tmp_path / "kc", cluster={"server": server}), None)
    assert settings.proxy_url == proxy


def test_proxy_url_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env:3128")
    path = kubeconfig(tmp_path / "kc", cluster={"proxy-url": "socks5://lab:pw@socks:1080"})
    assert kconfig.load(path, None)[0].proxy_url == "socks5://lab:pw@socks:1080"


# ---------------------------------------------------------------- merging several files


def test_several_files_merge_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "token").write_text("second-file-token")
    first = kubeconfig(tmp_path / "one" / "kc", user={"token": "first"}, name="shared", current="shared")
    second = tmp_path / "two" / "kc"
    second.write_text(yaml.safe_dump({
        "current-context": "other",
        "clusters": [{"name": "c", "cluster": {"server": "https://second:1"}},
                     {"name": "c2", "cluster": {"server": "https://second:2"}}],
        "users": [{"name": "u", "user": {"token": "second"}}, {"name": "u2", "user": {"tokenFile": "token"}}],
        "contexts": [{"name": "shared", "context": {"cluster": "c2", "user": "u2"}},
                     {"name": "other", "context": {"cluster": "c2", "user": "u2", "namespace": "ns"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "missing"), str(first), "", str(second)]))
    settings, target = kconfig.load(None, None)
    assert (target.context, target.server) == ("shared", "https://127.0.0.1:6443")  # the first file's
    assert settings.credentials.headers() == {"Authorization": "Bearer first"}
    settings, target = kconfig.load(None, "other")
    assert (target.server, settings.namespace) == ("https://second:2", "ns")
    # the second file's relative tokenFile is found next to the second file
    assert settings.credentials.headers() == {"Authorization": "Bearer second-file-token"}


def test_current_context_comes_from_the_first_file_that_sets_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    first = kubeconfig(tmp_path / "a", name="a", current=None)
    second = kubeconfig(tmp_path / "b", name="b", current="b")
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")
    assert kconfig.load(None, None)[1].context == "b"
    assert kconfig.load(None, "a")[1].context == "a"


def test_an_explicit_kubeconfig_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "env", name="env", current="env")))
    assert kconfig.load(kubeconfig(tmp_path / "explicit", name="mine", current="mine"), None)[1].context == "mine"


# ---------------------------------------------------------------- exec credential plugins


def test_exec_plugin_token_cached_until_it_expires(tmp_path: Path) -> None:
    plugin = plugin_script(tmp_path / "bin")
    log = tmp_path / "runs.log"
    path = kubeconfig(tmp_path / "kc", user=exec_user(str(plugin), log, expires=3600, args=["get-token", "--x"]))
    settings, _ = kconfig.load(path, None)
    assert runs(log) == []  # not when the kubeconfig is read: with the first request
    first = settings.credentials.headers()
    assert first == {"Authorization": f"Bearer tok-1-{SECRET}"}
    assert settings.credentials.headers() == first
    again, _ = kconfig.load(path, None)  # another connection of the same process shares it
    assert again.credentials.headers() == first
    [run] = runs(log)
    assert run["argv"] == ["get-token", "--x"]
    assert run["info"] == {"apiVersion": V1, "kind": "ExecCredential", "spec": {"interactive": False}}
    assert run["stdin_closed"]


def test_exec_plugin_runs_again_once_expired(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    path = kubeconfig(tmp_path / "kc", user=exec_user(str(plugin_script(tmp_path / "bin")), log, expires=5))
    settings, _ = kconfig.load(path, None)  # 5 s is within the renewal margin: always stale
    assert settings.credentials.headers() == {"Authorization": f"Bearer tok-1-{SECRET}"}
    assert settings.credentials.headers() == {"Authorization": f"Bearer tok-2-{SECRET}"}


def test_exec_credential_renewed_after_a_401(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    path = kubeconfig(tmp_path / "kc", user=exec_user(str(plugin_script(tmp_path / "bin")), log, api=V1BETA1))
    creds = kconfig.load(path, None)[0].credentials
    sent = creds.headers()
    assert creds.headers() == sent  # no expiry: kept
    assert creds.refresh(sent)
    assert creds.headers() == {"Authorization": f"Bearer tok-2-{SECRET}"}
    assert creds.refresh({"Authorization": "Bearer an-older-one"})  # already replaced: kept
    assert creds.headers() == {"Authorization": f"Bearer tok-2-{SECRET}"}
    assert len(runs(log)) == 2


def test_exec_plugin_relative_command_env_and_cluster_info(tmp_path: Path) -> None:
    plugin_script(tmp_path / "conf" / "bin")
    log = tmp_path / "runs.log"
    user = exec_user("./bin/plugin", log, provideClusterInfo=True)
    user["exec"]["env"].append({"name": "PLUGIN_EXTRA", "value": "extra-value"})
    path = kubeconfig(tmp_path / "conf" / "kc", user=user, cluster={
        "certificate-authority-data": base64.b64encode(b"ca-bytes").decode(), "tls-server-name": "kube",
        "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "lab"}}]})
    credentials.Credentials(select(str(path), None)).headers()
    [run] = runs(log)
    assert run["extra"] == "extra-value"
    assert run["info"]["spec"]["cluster"] == {
        "server": "https://127.0.0.1:6443", "tls-server-name": "kube",
        "certificate-authority-data": base64.b64encode(b"ca-bytes").decode(), "config": {"audience": "lab"}}


def test_exec_plugin_found_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_script(tmp_path / "bin", "lab-test-credential-plugin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    path = kubeconfig(tmp_path / "kc", user=exec_user("lab-test-credential-plugin", tmp_path / "log"))
    assert auth(path) == {"Authorization": f"Bearer tok-1-{SECRET}"}


def test_exec_plugin_failure_is_one_line_and_its_stderr_passes_through(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    plugin = plugin_script(tmp_path / "bin")
    path = kubeconfig(tmp_path / "kc", user=exec_user(str(plugin), tmp_path / "log", mode="fail"))
    settings, _ = kconfig.load(path, None)
    with pytest.raises(ClusterError) as caught:
        settings.credentials.headers()
    message = str(caught.value)
    assert caught.value.exit_code == 3 and "\n" not in message
    assert message.startswith(f"{path}:")  # the file and line of the user's exec
    assert f"user 'u': exec credential plugin '{plugin}' failed with exit status 3" in message
    assert "your login has expired" in capfd.readouterr().err  # the plugin's own words, as it wrote them


@pytest.mark.parametrize(("mode", "expected"), [
    ("garbage", "did not print an ExecCredential (not JSON)"),
    ("empty", "returned neither a token nor a client certificate"),
    ("wrong-version", "answered in apiVersion 'client.authentication.k8s.io/v1alpha1', not " + V1),
])
def test_exec_plugin_nonsense_is_one_line(tmp_path: Path, mode: str, expected: str) -> None:
    path = kubeconfig(tmp_path / "kc", user=exec_user(str(plugin_script(tmp_path / "bin")), tmp_path / "log",
                                                      mode=mode))
    with pytest.raises(ClusterError, match=r"exec credential plugin .*") as caught:
        auth(path)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_exec_plugin_not_found_names_its_install_hint(tmp_path: Path) -> None:
    user = exec_user("no-such-lab-plugin", tmp_path / "log", installHint="install it with\n  brew install x")
    with pytest.raises(ClusterError) as caught:
        auth(kubeconfig(tmp_path / "kc", user=user))
    assert str(caught.value).endswith(
        "exec credential plugin 'no-such-lab-plugin' not found (install it with brew install x)")


def test_interactive_always_needs_a_terminal(tmp_path: Path) -> None:
    user = exec_user(str(plugin_script(tmp_path / "bin")), tmp_path / "log", interactiveMode="Always")
    with pytest.raises(ClusterError, match="needs a terminal"):
        auth(kubeconfig(tmp_path / "kc", user=user))
    assert not (tmp_path / "log").exists()


# ---------------------------------------------------------------- bad files: one line each

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("no-server", {"cluster": {"server": ""}}, r"kc:\d+: context 'ctx': cluster 'c' has no server$"),
    ("server-not-url", {"cluster": {"server": "ftp://x"}}, r"cluster server 'ftp://x' is not an http\(s\) URL"),
    ("server-password", {"cluster": {"server": f"ht tp://a:{SECRET}@x"}}, r"cluster server 'ht tp://x'"),
    ("bad-base64", {"cluster": {"certificate-authority-data": "a"}},
     r"kc:\d+: clusters\[0\]\.cluster\.certificate-authority-data: not valid base64$"),
    ("insecure-string", {"cluster": {"insecure-skip-tls-verify": "yes please"}},
     r"insecure-skip-tls-verify: must be true or false"),
    ("bad-proxy", {"cluster": {"proxy-url": "ftp://proxy"}}, r"cluster 'c': proxy-url must be an http"),
    ("token-and-basic", {"user": {"token": SECRET, "username": "a", "password": SECRET}},
     r"user 'u' has both a token and a username/password"),
    ("cert-without-key", {"user": {"client-certificate": "c.crt"}},
     r"user 'u' has a client-certificate but no client-key"),
    ("token-file-missing", {"user": {"tokenFile": "/nonexistent/token"}},
     r"kc:\d+: user 'u': tokenFile: cannot read /nonexistent/token: No such file or directory$"),
    ("ca-file-missing", {"cluster": {"certificate-authority": "/nonexistent/ca.crt"}},
     r"kc:\d+: cluster 'c': certificate-authority: cannot read /nonexistent/ca\.crt: No such file"),
    ("ca-not-pem", {"cluster": {"certificate-authority-data": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nxx\n"
                                                                               b"-----END CERTIFICATE-----\n").decode()}},
     r"cluster 'c': certificate-authority-data: not a certificate"),
    ("client-key-missing", {"user": {"client-certificate": "/nonexistent/c.crt", "client-key": "/nonexistent/c.key"}},
     r"user 'u': client-certificate: cannot read /nonexistent/c\.crt"),
    ("auth-provider", {"user": {"auth-provider": {"name": "oidc", "config": {"id-token": SECRET}}}},
     r"kc:\d+: context 'ctx': user 'u': auth-provider 'oidc' is not supported; use an exec credential plugin"
     r" instead \(kubelogin"),
    ("exec-alpha", {"user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "x"}}},
     r"users\[0\]\.user\.exec\.apiVersion: 'client\.authentication\.k8s\.io/v1alpha1' is not supported"),
    ("exec-v1-no-mode", {"user": {"exec": {"apiVersion": V1, "command": "x"}}},
     r"exec\.interactiveMode: is required by client\.authentication\.k8s\.io/v1"),
    ("exec-bad-mode", {"user": {"exec": {"apiVersion": V1, "command": "x", "interactiveMode": "Sometimes"}}},
     r"interactiveMode: 'Sometimes' is not one of Never, IfAvailable, Always"),
    ("exec-no-command", {"user": {"exec": {"apiVersion": V1BETA1}}}, r"exec\.command: is missing"),
    ("exec-args", {"user": {"exec": {"apiVersion": V1BETA1, "command": "x", "args": "--one"}}},
     r"exec\.args: must be a list of strings"),
    ("unknown-context", {"current": "nope"}, r"kubeconfig .*kc: current-context 'nope' is unknown; its contexts: ctx$"),
    ("no-current-context", {"current": None}, r"no current-context; pass --context \(its contexts: ctx\)"),
    ("unknown-cluster", {"context": {"cluster": "other"}},
     r"kc:\d+: context 'ctx': cluster 'other' is not defined \(clusters: c\)$"),
    ("unknown-user", {"context": {"user": "other"}}, r"context 'ctx': user 'other' is not defined \(users: u\)$"),
]


@pytest.mark.parametrize(("case", "changes", "pattern"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_kubeconfig_is_one_line_naming_file_and_field(tmp_path: Path, case: str, changes: dict[str, Any],
                                                            pattern: str) -> None:
    path = kubeconfig(tmp_path / "kc", user=changes.get("user"), cluster=changes.get("cluster"),
                      context=changes.get("context"), current=changes.get("current", "ctx"))
    error = one_line_config_error(path)
    assert str(path) in str(error)
    assert re.search(pattern, str(error)), str(error)


@pytest.mark.parametrize(("text", "pattern"), [
    ("", r"kubeconfig .*kc is empty"),
    ("- a\n", r"kc:1: kubeconfig: must be a mapping"),
    ("clusters: {a: 1}\n", r"kc:1: clusters: must be a list of \{name, cluster\}"),
    ("users:\n- user: {token: x}\n", r"kc:2: users\[0\]: has no name"),
    ("contexts:\n- name: a\n  context: [1]\n", r"kc:3: contexts\[0\]\.context: must be a mapping"),
    ("contexts:\n- {name: a, context: {}}\n- {name: a, context: {}}\n",
     r"kc:3: contexts\[1\]: context 'a' is defined twice \(also at line 2\)"),
    ("a: 1\na: 2\n", r"kc:2: .*duplicate key 'a'"),
    ("clusters: [\n", r"kc:\d+: kubeconfig: invalid YAML"),
    ("current-context: [a]\n", r"kc:1: current-context: must be a string"),
])
def test_malformed_files(tmp_path: Path, text: str, pattern: str) -> None:
    path = tmp_path / "kc"
    path.write_text(text)
    error = one_line_config_error(path)
    assert re.search(pattern, str(error)), str(error)


def test_missing_files_and_unknown_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    with pytest.raises(ConfigError, match=r"kubeconfig .*/a:.*/b not found \(pass --kubeconfig or set KUBECONFIG\)"):
        kconfig.load(None, None)
    path = kubeconfig(tmp_path / "kc", user={"token": SECRET})
    error = one_line_config_error(path, "elsewhere")
    assert str(error) == f"kubeconfig {path}: context 'elsewhere' is unknown; its contexts: ctx"


# ---------------------------------------------------------------- TLS material and the port-forward


def test_key_material_goes_through_a_private_file_that_is_removed_at_once() -> None:
    from illm_lab.kube import tls

    with tls._private_file(SECRET.encode()) as name:
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
        assert Path(name).read_bytes() == SECRET.encode()
    assert not os.path.exists(name)


def test_port_forward_uses_the_pools_tls_context_and_proxy(tmp_path: Path) -> None:
    from illm_lab.kube.portforward import _proxy_options, _ssl_options

    path = kubeconfig(tmp_path / "kc", cluster={"tls-server-name": "kube.internal", "insecure-skip-tls-verify": True,
                                                "proxy-url": "http://lab:p%40ss@proxy.example:3128"})
    settings, _ = kconfig.load(path, None)
    assert _ssl_options(settings) == {"context": settings.ssl_context, "server_hostname": "kube.internal"}
    assert _proxy_options(settings.proxy_url) == {
        "http_proxy_host": "proxy.example", "http_proxy_port": 3128, "proxy_type": "http",
        "http_proxy_auth": ("lab", "p@ss")}
    assert _proxy_options("socks5://s") == {"http_proxy_host": "s", "http_proxy_port": 1080, "proxy_type": "socks5"}
    assert _proxy_options(None) == {}
