"""Serving beyond localhost (issue 12, item 10): sign-in, allowed roots, error details, upload size."""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.config import ShowErrorDetailsConfigOptions
from streamlit.testing.v1 import AppTest

from mmx_core import jobs
from mmx_core.appkit import access, dataset_folders, uploads
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import allowed_roots, check_under_roots, data_dir

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["app.py", "pages/1_Trailer.py", "pages/2_Compare.py", "pages/3_Train.py", "pages/4_Evaluate.py",
         "pages/5_Data.py"]


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("192.168.1.20", False), ("myhost", False)])
def test_loopback_addresses(address, loopback):
    assert access.is_loopback(address) is loopback


def test_password_comparison_and_the_decision():
    assert access.password_matches("s3cret", "s3cret")
    assert not access.password_matches("s3cret ", "s3cret") and not access.password_matches("", "")
    assert access.decide("127.0.0.1", {}, {}).mode == "open"
    refused = access.decide("0.0.0.0", {}, {})
    assert refused.mode == "refused" and "0.0.0.0" in refused.message and "\n" not in refused.message
    assert access.decide("", {}, {}).message.count("every interface") == 1
    assert access.decide("0.0.0.0", {}, {"MMX_PASSWORD": "pw"}) == access.Access("password", password="pw")
    assert access.decide("0.0.0.0", {"password": "a"}, {"MMX_PASSWORD": "b"}).password == "a"   # secrets first
    oidc = {"redirect_uri": "http://h:8501/oauth2callback", "cookie_secret": "x" * 32,
            "google": {"client_id": "id", "client_secret": "s", "server_metadata_url": "https://a/.well-known"}}
    assert access.oidc_configured(oidc) and not access.oidc_configured({"password": "a"})
    assert not access.oidc_configured({**oidc, "cookie_secret": ""})
    decided = access.decide("0.0.0.0", oidc, {})
    assert decided.mode in ("oidc", "refused")           # refused (with its reason) only without Authlib
    assert decided.provider == "google" if decided.mode == "oidc" else "Authlib" in decided.message


def test_server_settings_hide_errors_and_match_the_upload_limit():
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["address"] == "127.0.0.1"
    assert settings["client"]["showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE
    assert settings["server"]["maxUploadSize"] * 1024 * 1024 == uploads.MAX_UPLOAD_BYTES  # Streamlit's MB


@pytest.fixture
def served_on():
    """Set Streamlit's ``server.address`` for the AppTests of one test, then put it back."""
    before = st_config.get_option("server.address")

    def serve(address):
        st_config.set_option("server.address", address)

    yield serve
    st_config.set_option("server.address", before)


def run_page(page: str, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    return at.run()


@pytest.mark.parametrize("page", PAGES)
def test_beyond_localhost_without_a_password_every_page_refuses(page, served_on, monkeypatch):
    monkeypatch.delenv(access.PASSWORD_VARIABLE, raising=False)
    served_on("0.0.0.0")
    at = run_page(page)
    assert not at.exception
    assert [e.value for e in at.error] == [access.REFUSAL.format(address="0.0.0.0")]
    assert not at.dataframe and not at.get("plotly_chart") and not at.button and not at.text_input


def test_beyond_localhost_the_password_is_asked_first(served_on, monkeypatch):
    monkeypatch.delenv(access.PASSWORD_VARIABLE, raising=False)
    served_on("0.0.0.0")
    at = run_page("pages/5_Data.py", secrets={"auth": {"password": "right horse"}})
    assert not at.dataframe and [t.key for t in at.text_input] == ["w_password"]
    at.text_input(key="w_password").input("wrong horse")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong password."] and not at.dataframe
    at.text_input(key="w_password").input("right horse")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Data" and list(at.dataframe[0].value["name"])[0] == "published"


def test_the_password_may_come_from_the_environment(served_on, monkeypatch):
    monkeypatch.setenv(access.PASSWORD_VARIABLE, "from-env")
    served_on("192.168.1.20")
    at = run_page("pages/4_Evaluate.py")
    at.text_input(key="w_password").input("from-env")
    at.button[0].click().run()
    assert not at.exception and not at.error and at.title[0].value != "MMX Explorer"


def test_on_loopback_nothing_is_asked(served_on, monkeypatch):
    monkeypatch.delenv(access.PASSWORD_VARIABLE, raising=False)
    served_on("127.0.0.1")
    at = run_page("pages/5_Data.py")
    assert not at.error and at.title[0].value == "Data" and "w_password" not in [t.key for t in at.text_input]


def test_inputs_are_read_only_under_the_allowed_roots(tmp_path, monkeypatch, tiny_data):
    monkeypatch.delenv("MMX_DATA_ROOTS")
    assert allowed_roots() == [data_dir().resolve()]                      # default: the data folder
    outside = tmp_path / "outside"
    (outside / "Horror").mkdir(parents=True)
    (outside / "clip.mp4").write_bytes(b"")
    link = data_dir() / "link-out"
    link.symlink_to(outside, target_is_directory=True)                    # a link inside pointing outside
    for path in (outside, link, data_dir() / ".." / "outside", "/etc", ""):
        with pytest.raises(MMXError, match="outside the folders the app may read"):
            dataset_folders.check_folder(path, "named")
    with pytest.raises(MMXError, match="import folder .* outside"):
        jobs.ImportRequest(folder=str(outside), dataset="x").validate()
    with pytest.raises(MMXError, match="video folder .* outside"):
        jobs.ExtractRequest(videos=str(outside), dataset="x").validate()
    with pytest.raises(MMXError, match="metadata file .* outside"):
        jobs.ExtractRequest(videos=str(data_dir()), dataset="x", meta="/etc/hostname").validate()
    assert dataset_folders.check_folder(data_dir() / tiny_data)["ok"] is True         # inside: validated as before

    monkeypatch.setenv("MMX_DATA_ROOTS", f"{tmp_path / 'none'}:{outside}")
    assert allowed_roots() == [(tmp_path / "none").resolve(), outside.resolve()]
    assert check_under_roots(outside / "Horror", "folder") == (outside / "Horror").resolve()
    assert jobs.ImportRequest(folder=str(outside), dataset="x").validate().folder == str(outside.resolve())


def _extracted_set(folder: Path, video: Path) -> dict:
    """A data set folder as extract leaves it (manifest, sources.json naming ``video``) and a trailer row naming it."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "sources.json").write_text(json.dumps({"videos": [{"id": "t1", "file": str(video),
                                                                 "sequences": [[0.0, 2.0]]}]}))
    return {"id": "t1", "dataset": str(folder)}


def test_the_app_serves_files_only_from_under_the_roots_whatever_a_table_names(tmp_path, monkeypatch):
    """An uploaded table whose ``dataset`` column names a folder outside the roots got its video served."""
    from mmx_core.appkit import trailer_media

    monkeypatch.setenv("MMX_DATA_ROOTS", str(tmp_path / "roots"))
    outside = Path(tempfile.mkdtemp(prefix="mmx-outside-"))
    try:
        (outside / "secret.mp4").write_bytes(b"\x00" * 16)
        (tmp_path / "roots" / "videos").mkdir(parents=True)
        (tmp_path / "roots" / "videos" / "t1.mp4").write_bytes(b"\x00" * 16)
        inside = _extracted_set(tmp_path / "roots" / "set", tmp_path / "roots" / "videos" / "t1.mp4")
        assert trailer_media.trailer_video("t1", inside).path == (tmp_path / "roots" / "videos" / "t1.mp4").resolve()

        hostile_rows = [
            _extracted_set(outside / "set", outside / "secret.mp4"),                  # a set outside the roots
            _extracted_set(tmp_path / "roots" / "set2", outside / "secret.mp4"),      # a video outside the roots
            {"id": "t1", "dataset": str(tmp_path / "roots" / ".." / ".." / outside.name)},
        ]
        (tmp_path / "roots" / "link").symlink_to(outside / "set", target_is_directory=True)
        hostile_rows.append({"id": "t1", "dataset": str(tmp_path / "roots" / "link")})  # a link out of the roots
        for row in hostile_rows:
            assert trailer_media.trailer_video("t1", row) is None, row
        assert trailer_media.dataset_folder(hostile_rows[0]) is None and trailer_media.dataset_folder(hostile_rows[3]) is None
    finally:
        shutil.rmtree(outside)


def test_the_author_of_a_change_is_trusted_only_from_the_sign_in_that_made_it():
    from mmx_core.appkit.access import PROXY_USER_HEADER, author_of

    assert author_of("open", {}) == "local"                                        # this machine only
    assert author_of("open", {PROXY_USER_HEADER.lower(): "ann"}) == "ann"          # the proxy's sign-in
    assert author_of("open", {PROXY_USER_HEADER: "ann\x1b[2J"}) == "local"         # nothing it would not send
    assert author_of("oidc", {PROXY_USER_HEADER: "mallory"}, {"email": "ann@lab.org"}) == "ann@lab.org"
    assert author_of("password", {PROXY_USER_HEADER: "mallory"}) == "password"     # served beyond loopback: a
    # visitor's own header is never taken for a name
