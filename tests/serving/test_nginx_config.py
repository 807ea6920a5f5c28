"""The nginx configuration (mmx_core.serving.nginx) and the serve command's refusals, without starting anything."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from mmx_core.appkit.access import PASSWORD_VARIABLE
from mmx_core.appkit.uploads import MAX_UPLOAD_BYTES
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.cli import main
from mmx_core.serving.edge_auth import COOKIE_NAME
from mmx_core.serving.nginx import ProxyPlan, first_error, nginx_command, render_config, write_config
from needs_nginx import require_nginx

ROOT = Path(__file__).resolve().parents[2]


def plan(tmp_path, **changes) -> ProxyPlan:
    return ProxyPlan(**{"host": "0.0.0.0", "port": 8443, "worker_ports": (9001, 9002), "auth_port": 9100,
                        "run_dir": tmp_path, **changes})


def location(text: str, opening: str) -> str:
    """The body of the location block that starts with ``opening``."""
    start = text.index(opening)
    return text[start:text.index("\n        }", start)]


def test_workers_are_sticky_on_the_sign_in_cookie(tmp_path):
    text = render_config(plan(tmp_path))
    upstream = text[text.index("upstream mmx_workers"):]
    assert f"hash $cookie_{COOKIE_NAME} consistent;" in upstream
    assert re.findall(r"server 127\.0\.0\.1:(\d+)", upstream)[:2] == ["9001", "9002"]
    assert "listen 0.0.0.0:8443;" in text and "ssl" not in text.replace("ssl_", "")
    assert "daemon off;" in text and f"pid {tmp_path.resolve()}/nginx.pid;" in text


def test_websockets_uploads_and_timeouts(tmp_path):
    app = location(render_config(plan(tmp_path)), "location / {")
    for line in ("proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                 "proxy_set_header Connection $mmx_connection;", "proxy_read_timeout 1d;", "proxy_send_timeout 1d;",
                 "proxy_next_upstream error timeout", "proxy_set_header X-MMX-User $mmx_user;"):
        assert line in app
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    body = int(re.search(r"client_max_body_size (\d+);", render_config(plan(tmp_path))).group(1))
    assert body == MAX_UPLOAD_BYTES == settings["server"]["maxUploadSize"] * 1024 * 1024


def test_everything_but_the_sign_in_asks_first_and_metrics_are_refused(tmp_path):
    text = render_config(plan(tmp_path))
    assert "auth_request /_mmx_auth;" in location(text, "location / {")
    assert "auth_request" not in location(text, "location ~ ^/(signin|signout)$ {")
    assert "return 404;" in location(text, "location ~ ^/_stcore/metrics {")
    signin = location(text, "location @mmx_signin {")
    assert "return 401;" in signin and "return 302 /signin?next=$request_uri;" in signin
    assert "internal;" in location(text, "location = /_mmx_auth {")


def test_https_and_the_redirect_from_http(tmp_path):
    text = render_config(plan(tmp_path, cert=Path("/etc/c.pem"), key=Path("/etc/k.pem"), http_port=8080))
    assert "listen 0.0.0.0:8443 ssl;" in text and "ssl_certificate /etc/c.pem;" in text
    assert "ssl_certificate_key /etc/k.pem;" in text
    assert "listen 0.0.0.0:8080;" in text and "return 301 https://$host:8443$request_uri;" in text
    on_443 = render_config(plan(tmp_path, port=443, host="::", cert=Path("/c"), key=Path("/k"), http_port=80))
    assert "listen [::]:443 ssl;" in on_443 and "return 301 https://$host$request_uri;" in on_443
    assert "return 301" not in render_config(plan(tmp_path, cert=Path("/c"), key=Path("/k")))


@pytest.mark.parametrize("changes, message", [
    ({"cert": Path("/c")}, "--cert and --key go together"),
    ({"http_port": 80}, "--http-port redirects to HTTPS"),
    ({"worker_ports": ()}, "at least one worker"),
    ({"cert": Path("/c;x"), "key": Path("/k")}, "cannot hold")])
def test_plans_nginx_cannot_serve_are_refused(tmp_path, changes, message):
    with pytest.raises(MMXError, match=message):
        render_config(plan(tmp_path, **changes))


def test_nginx_accepts_the_configuration(tmp_path):
    require_nginx()
    write_config(plan(tmp_path, host="127.0.0.1"))
    result = subprocess.run(nginx_command(tmp_path) + ["-t"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_serve_refuses_beyond_loopback_without_a_password(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    if (ROOT / ".streamlit" / "secrets.toml").exists():
        pytest.skip("this checkout's .streamlit/secrets.toml may set a password")
    code = main(["serve", "--host", "0.0.0.0", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == ExitCode.REFUSED and err.count("\n") == 1 and "no password is set" in err
    assert not (tmp_path / "run").exists()                                   # nothing was started


def test_nginx_s_first_emergency_is_the_error_shown(tmp_path):
    assert first_error(tmp_path) == f"see {tmp_path}/error.log"
    (tmp_path / "error.log").write_text("a notice\nnginx: [emerg] bind() failed (98: Address in use)\x1b\n"
                                        "nginx: [emerg] still could not bind()\n")
    assert first_error(tmp_path) == "nginx: [emerg] bind() failed (98: Address in use)\\x1b"
