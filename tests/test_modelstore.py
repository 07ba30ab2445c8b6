"""Model manager: the downloader against a local HTTP server on 127.0.0.1, never the internet."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import stat
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from voicecoach import modelstore
from voicecoach.errors import ModelError
from voicecoach.modelstore import Manifest, ModelEntry

NAME = "vosk-model-test-0.1"

MODEL_FILES = {
    "am/final.mdl": b"acoustic model " * 200,
    "conf/model.conf": b"--beam=10.0\n--endpoint.rule2.min-trailing-silence=0.5\n",
    "conf/mfcc.conf": b"--use-energy=false\n",
    "graph/HCLr.fst": b"hclr" * 300,
    "graph/Gr.fst": b"gr" * 300,
    "graph/phones/word_boundary.int": b"1 nonword\n",
    "ivector/final.ie": b"ie" * 100,
}


def make_zip(files: dict[str, bytes], root: str = NAME,
             symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if root:
            zf.writestr(root + "/", b"")
        for rel, data in files.items():
            zf.writestr(f"{root}/{rel}" if root else rel, data)
        for rel, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(f"{root}/{rel}" if root else rel)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


class Server:
    """Serves {path: (body, declared Content-Length or None)} on 127.0.0.1."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, int | None]] = {}
        self.hits: list[str] = []
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                if self.path not in routes:
                    self.send_error(404, "not found")
                    return
                body, length = routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes, length: int | None = -1) -> str:
        self.routes[path] = (body, len(body) if length == -1 else length)
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models directory ($VOICECOACH_MODELS) and an empty working directory."""
    d = tmp_path / "store"
    monkeypatch.setenv("VOICECOACH_MODELS", str(d))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return d


def manifest_for(url: str, body: bytes, sha: str | None = None) -> Manifest:
    entry = ModelEntry(name=NAME, url=url, sha256=sha or hashlib.sha256(body).hexdigest(),
                       size_bytes=len(body), engine="vosk", language="xx", license="MIT",
                       archive_root=NAME)
    return Manifest((entry,), NAME)


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(".")) if d.exists() else []


# ------------------------------------------------------------------------------ manifest
def test_packaged_manifest_has_the_english_model() -> None:
    m = modelstore.load_manifest()
    e = m.get()
    assert e.name == "vosk-model-small-en-us-0.15"
    assert e.url == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    assert e.sha256 == "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
    assert e.engine == "vosk" and e.license == "Apache-2.0" and e.archive_root == e.name
    assert 30_000_000 < e.size_bytes < 50_000_000
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        m.get("nope")


def test_models_dir_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICECOACH_MODELS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert modelstore.models_dir() == tmp_path / "xdg" / "voicecoach" / "models"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert modelstore.models_dir() == Path.home() / ".local/share/voicecoach/models"
    monkeypatch.setenv("VOICECOACH_MODELS", str(tmp_path / "m"))
    assert modelstore.models_dir() == tmp_path / "m"


# ------------------------------------------------------------------------------ download
def test_download_success(server: Server, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = make_zip(MODEL_FILES)
    m = manifest_for(server.add("/m.zip", body), body)
    path = modelstore.download(manifest=m, progress=True)
    assert path == store / NAME
    for rel, data in MODEL_FILES.items():
        assert (path / rel).read_bytes() == data
    assert "vosk-model-test-0.1" in capsys.readouterr().err  # the progress bar
    report = modelstore.verify(NAME, m)
    assert report.ok, report.problems
    assert report.sha256 == hashlib.sha256(body).hexdigest()
    stamp = json.loads((path / modelstore.STAMP_NAME).read_text())
    assert stamp["files"]["am/final.mdl"] == len(MODEL_FILES["am/final.mdl"])
    assert leftovers(store) == []  # no .part, no unpack directory
    assert modelstore.find_model(None, m) == path
    # already installed: no second request
    assert modelstore.download(manifest=m) == path
    assert server.hits == ["/m.zip"]


def test_download_from_other_url_still_checks_sha(server: Server, store: Path) -> None:
    body = make_zip(MODEL_FILES)
    m = manifest_for(server.base + "/unused.zip", body)
    path = modelstore.download(url=server.add("/mirror.zip", body), manifest=m, progress=False)
    assert modelstore.verify(path, m).ok


def test_sha_mismatch_installs_nothing(server: Server, store: Path) -> None:
    body = make_zip(MODEL_FILES)
    m = manifest_for(server.add("/m.zip", body), body, sha="0" * 64)
    with pytest.raises(ModelError, match="corrupt: sha256"):
        modelstore.download(manifest=m, progress=False)
    assert not (store / NAME).exists()
    assert leftovers(store) == []


def test_truncated_download(server: Server, store: Path) -> None:
    body = make_zip(MODEL_FILES)
    m = manifest_for(server.add("/m.zip", body[: len(body) // 2], length=len(body)), body)
    with pytest.raises(ModelError, match=r"truncated|failed after"):
        modelstore.download(manifest=m, progress=False)
    assert not (store / NAME).exists()
    assert leftovers(store) == []


def test_http_error(server: Server, store: Path) -> None:
    body = make_zip(MODEL_FILES)
    m = manifest_for(server.base + "/missing.zip", body)
    with pytest.raises(ModelError, match="HTTP 404"):
        modelstore.download(manifest=m, progress=False)


@pytest.mark.parametrize("evil", ["../evil", "/tmp/evil-abs", "am/../../evil"])
def test_zip_with_escaping_path_is_rejected(server: Server, store: Path, tmp_path: Path,
                                            evil: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, data in MODEL_FILES.items():
            zf.writestr(f"{NAME}/{rel}", data)
        zf.writestr(evil, b"owned")
    body = buf.getvalue()
    m = manifest_for(server.add("/evil.zip", body), body)
    with pytest.raises(ModelError, match="unsafe"):
        modelstore.download(manifest=m, progress=False)
    assert not (store / NAME).exists()
    assert not (tmp_path / "evil").exists() and not (store.parent / "evil").exists()
    assert not Path("/tmp/evil-abs").exists()
    assert leftovers(store) == []


def test_zip_with_escaping_symlink_is_rejected(server: Server, store: Path) -> None:
    body = make_zip(MODEL_FILES, symlinks={"graph/link": "../../../etc"})
    m = manifest_for(server.add("/link.zip", body), body)
    with pytest.raises(ModelError, match="unsafe symlink"):
        modelstore.download(manifest=m, progress=False)
    assert not (store / NAME).exists()


def test_archive_without_a_model_is_rejected(server: Server, store: Path) -> None:
    files = {k: v for k, v in MODEL_FILES.items() if not k.startswith("am/")}
    body = make_zip(files)
    m = manifest_for(server.add("/m.zip", body), body)
    with pytest.raises(ModelError, match=r"no complete Vosk model.*am/final\.mdl"):
        modelstore.download(manifest=m, progress=False)
    assert not (store / NAME).exists()


# ------------------------------------------------------------------------------ verify / find
def install_by_hand(d: Path, files: dict[str, bytes] = MODEL_FILES) -> Path:
    for rel, data in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    return d


def test_verify_partial_model(server: Server, store: Path) -> None:
    body = make_zip(MODEL_FILES)
    m = manifest_for(server.add("/m.zip", body), body)
    path = modelstore.download(manifest=m, progress=False)
    (path / "graph" / "Gr.fst").unlink()
    with (path / "am" / "final.mdl").open("ab") as f:
        f.write(b"x")
    report = modelstore.verify(path, m)
    assert not report.ok
    assert any("graph/Gr.fst" in p for p in report.problems)
    assert any("am/final.mdl has" in p for p in report.problems)
    with pytest.raises(ModelError, match="incomplete"):
        modelstore.find_model(None, m)
    with pytest.raises(ModelError, match="not a complete Vosk model"):
        modelstore.find_model(str(path), m)


def test_verify_hand_installed_model(tmp_path: Path) -> None:
    d = install_by_hand(tmp_path / "mine")
    report = modelstore.verify(d, manifest_for("http://127.0.0.1:9/x", b""))
    assert report.ok and report.sha256 is None and report.notes
    (d / "conf" / "model.conf").write_bytes(b"")
    assert "empty conf/model.conf" in modelstore.verify(d).problems


def test_find_model_order(store: Path, tmp_path: Path) -> None:
    m = manifest_for("http://127.0.0.1:9/x", b"")
    assert modelstore.find_model(None, m) is None
    in_cwd = install_by_hand(Path.cwd() / "models" / NAME)
    assert modelstore.find_model(None, m) == in_cwd
    in_store = install_by_hand(store / NAME)
    assert modelstore.find_model(None, m) == in_store  # $VOICECOACH_MODELS first
    # explicit: a model directory, or a directory holding one
    other = install_by_hand(tmp_path / "elsewhere")
    assert modelstore.find_model(str(other), m) == other
    assert modelstore.find_model(str(store), m) == in_store
    with pytest.raises(ModelError, match="does not exist"):
        modelstore.find_model(str(tmp_path / "nowhere"), m)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="no Vosk model in"):
        modelstore.find_model(str(empty), m)
    # a damaged copy first, a complete one later: the complete one is used
    (in_store / "am" / "final.mdl").unlink()
    assert modelstore.find_model(None, m) == in_cwd


# ------------------------------------------------------------------------------ CLI
def cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicecoach")
    modelstore.add_subcommand(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = cli(["model", "list"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "vosk-model-small-en-us-0.15" in out and "not installed" in out

    args = cli(["model", "path"])
    assert args.func(args) == 1
    assert capsys.readouterr().out.strip() == str(store / "vosk-model-small-en-us-0.15")

    good = install_by_hand(tmp_path / "good")
    args = cli(["model", "verify", str(good)])
    assert args.func(args) == 0
    assert "OK" in capsys.readouterr().out
    (good / "am" / "final.mdl").unlink()
    assert args.func(args) == 1
    assert "missing am/final.mdl" in capsys.readouterr().out

    args = cli(["model", "download", "--url", "http://127.0.0.1:9/x.zip", "--dest",
                str(tmp_path / "d"), "--quiet"])
    assert args.func.__name__ == "cmd_download" and args.dest == str(tmp_path / "d")
    with pytest.raises(SystemExit):
        cli(["model"])  # a sub-command is required


def test_cli_download_with_mirror_checks_manifest_sha(server: Server, store: Path) -> None:
    body = make_zip(MODEL_FILES, root="vosk-model-small-en-us-0.15")
    args = cli(["model", "download", "--url", server.add("/fake.zip", body), "--quiet"])
    with pytest.raises(ModelError, match="corrupt: sha256"):
        args.func(args)
    assert not (store / "vosk-model-small-en-us-0.15").exists()
