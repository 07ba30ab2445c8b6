"""Speech models on disk: where they live, finding them, checking them, downloading them.

The manifest (``models/manifest.json``, shipped as package data) lists the models voicecoach knows:
name, url, sha256, size_bytes (approximate; used for the progress bar), engine, language, license
and archive_root (the folder inside the zip that holds the model). A model is installed as a
directory named after it inside the models directory:

* ``$VOICECOACH_MODELS`` when set, else ``$XDG_DATA_HOME/voicecoach/models`` (by default
  ``~/.local/share/voicecoach/models``): where downloads go;
* also searched: ``./models`` in the current directory and the ``models/`` folder of a source
  checkout.

A downloaded model carries a stamp file (:data:`STAMP_NAME`) with the archive's sha256 and the size
of every file, so :func:`verify` can tell a complete model from a damaged one without the archive.

The only network access is :func:`download` (``urllib``, to the manifest URL or one given).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import posixpath
import shutil
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ModelError

log = logging.getLogger(__name__)

STAMP_NAME = ".voicecoach-model.json"
"""Written into a model directory by :func:`download`: archive sha256, url and file sizes."""

ENV_MODELS = "VOICECOACH_MODELS"
MAX_UNPACKED_BYTES = 8 * 1024**3
"""Refuse archives that would unpack to more than this (zip bombs)."""

_CHUNK = 256 * 1024


# ---------------------------------------------------------------------------------- manifest
@dataclass(frozen=True)
class ModelEntry:
    """One downloadable model from the manifest."""

    name: str
    url: str
    sha256: str
    size_bytes: int
    engine: str
    language: str
    license: str
    archive_root: str
    description: str = ""


@dataclass(frozen=True)
class Manifest:
    models: tuple[ModelEntry, ...]
    default: str

    def get(self, name: str | None = None) -> ModelEntry:
        """The entry called ``name`` (the default model when None); ModelError if unknown."""
        wanted = name or self.default
        for m in self.models:
            if m.name == wanted:
                return m
        known = ", ".join(m.name for m in self.models) or "none"
        raise ModelError(f"unknown model '{wanted}' (known: {known})")


def parse_manifest(data: Any) -> Manifest:
    """A :class:`Manifest` from the decoded JSON; ModelError when it is malformed."""
    try:
        models = tuple(
            ModelEntry(
                name=str(m["name"]), url=str(m["url"]), sha256=str(m["sha256"]).lower(),
                size_bytes=int(m["size_bytes"]), engine=str(m["engine"]),
                language=str(m["language"]), license=str(m["license"]),
                archive_root=str(m.get("archive_root") or ""),
                description=str(m.get("description", "")),
            )
            for m in data["models"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the model manifest is malformed: {exc!r}") from exc
    if not models:
        raise ModelError("the model manifest lists no models")
    default = str(data.get("default") or models[0].name)
    return Manifest(models, default)


def load_manifest() -> Manifest:
    """The packaged manifest (or the source checkout's ``models/manifest.json``)."""
    try:
        text = resources.files("voicecoach.resources.models").joinpath("manifest.json").read_text(
            "utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        src = Path(__file__).resolve().parent.parent / "models" / "manifest.json"
        try:
            text = src.read_text("utf-8")
        except OSError as exc:
            raise ModelError(f"the model manifest is missing ({src}): {exc}") from exc
    try:
        return parse_manifest(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ModelError(f"the model manifest is not valid JSON: {exc}") from exc


# ---------------------------------------------------------------------------------- places
def models_dir() -> Path:
    """Where models are downloaded to: $VOICECOACH_MODELS, else $XDG_DATA_HOME/voicecoach/models."""
    env = os.environ.get(ENV_MODELS)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg).expanduser() / "voicecoach" / "models"


def search_dirs() -> list[Path]:
    """Directories searched for installed models, in order (duplicates removed)."""
    candidates = [models_dir(), Path.cwd() / "models",
                  Path(__file__).resolve().parent.parent / "models"]
    out: list[Path] = []
    seen: set[str] = set()
    for d in candidates:
        key = str(d.resolve()) if d.exists() else str(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


# ---------------------------------------------------------------------------------- checking
def model_problems(path: Path) -> list[str]:
    """What keeps ``path`` from being a usable Vosk model ([] when it looks complete)."""
    if not path.exists():
        return [f"{path} does not exist"]
    if not path.is_dir():
        return [f"{path} is not a directory"]
    problems: list[str] = []

    def need(rel: str) -> None:
        f = path / rel
        if not f.is_file():
            problems.append(f"missing {rel}")
        elif f.stat().st_size == 0:
            problems.append(f"empty {rel}")

    need("am/final.mdl")
    need("conf/model.conf")
    graph = path / "graph"
    if (graph / "HCLG.fst").is_file():
        need("graph/HCLG.fst")
    elif (graph / "HCLr.fst").exists() or (graph / "Gr.fst").exists():
        need("graph/HCLr.fst")
        need("graph/Gr.fst")
    else:
        problems.append("missing graph/HCLG.fst or graph/HCLr.fst + graph/Gr.fst")
    if (path / "ivector").is_dir():
        need("ivector/final.ie")
    problems += _stamp_problems(path)
    return problems


def read_stamp(path: Path) -> dict[str, Any] | None:
    """The download stamp of a model directory, if it has one."""
    f = path / STAMP_NAME
    if not f.is_file():
        return None
    try:
        data = json.loads(f.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"invalid": True}
    return data if isinstance(data, dict) else {"invalid": True}


def _stamp_problems(path: Path) -> list[str]:
    stamp = read_stamp(path)
    if stamp is None:
        return []
    if stamp.get("invalid"):
        return [f"unreadable {STAMP_NAME}"]
    problems = []
    files = stamp.get("files", {})
    for rel, size in files.items() if isinstance(files, dict) else ():
        f = path / rel
        if not f.is_file():
            problems.append(f"missing {rel} (listed in the download stamp)")
        elif f.stat().st_size != size:
            problems.append(f"{rel} has {f.stat().st_size} bytes, {size} when downloaded")
    return problems


@dataclass(frozen=True)
class VerifyReport:
    """The result of :func:`verify`."""

    path: Path
    name: str | None
    problems: tuple[str, ...] = ()
    sha256: str | None = None
    """The archive's sha256 recorded at download (None for a model installed by hand)."""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(target: str | Path | None = None, manifest: Manifest | None = None) -> VerifyReport:
    """Check a model given by manifest name, by directory, or (None) the one :func:`find_model`
    would use, else the default model. Never raises for a damaged model: read ``problems``."""
    manifest = manifest or load_manifest()
    if target is None:
        found = _find_complete(manifest)
        target = found if found is not None else manifest.default
    t = str(target)
    entry: ModelEntry | None = None
    if _known(manifest, t) and not Path(t).is_dir():
        entry = manifest.get(t)
        path = installed_path(entry.name) or models_dir() / entry.name
    else:
        path = Path(t).expanduser()
        if _known(manifest, path.name):
            entry = manifest.get(path.name)
    return _verify_dir(path, entry)


def _known(manifest: Manifest, name: str) -> bool:
    return any(m.name == name for m in manifest.models)


def _verify_dir(path: Path, entry: ModelEntry | None) -> VerifyReport:
    problems = model_problems(path)
    stamp = read_stamp(path) or {}
    sha = stamp.get("sha256") if isinstance(stamp.get("sha256"), str) else None
    notes: list[str] = []
    if entry is not None and sha is not None and sha != entry.sha256:
        problems.append(f"downloaded archive sha256 {sha} is not the manifest's {entry.sha256}")
    if path.is_dir() and sha is None:
        notes.append("no download stamp (installed by hand): only the file layout was checked")
    return VerifyReport(path, entry.name if entry else None, tuple(problems), sha, tuple(notes))


# ---------------------------------------------------------------------------------- finding
def installed_path(name: str) -> Path | None:
    """The first search directory holding a directory called ``name`` (complete or not)."""
    for d in search_dirs():
        p = d / name
        if p.is_dir():
            return p
    return None


def _find_complete(manifest: Manifest) -> Path | None:
    for d in search_dirs():
        for m in manifest.models:
            p = d / m.name
            if p.is_dir() and not model_problems(p):
                return p
    return None


def find_model(model_dir: str | Path | None = None, manifest: Manifest | None = None
               ) -> Path | None:
    """The Vosk model to use, or None when there is none.

    With ``model_dir``: that directory if it is a model, or the first complete manifest model
    inside it; a missing directory or a partial model raises :class:`ModelError`.
    Without: the first complete manifest model in :func:`search_dirs` order (manifest order within
    a directory). Model directories found damaged raise :class:`ModelError` when no complete one
    exists, so a broken download is reported instead of silently falling back.
    """
    manifest = manifest or load_manifest()
    if model_dir is not None:
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise ModelError(f"model directory {path} does not exist")
        if (path / "am").exists() or (path / "conf").exists() or (path / "graph").exists():
            problems = model_problems(path)
            if problems:
                raise ModelError(f"{path} is not a complete Vosk model ({'; '.join(problems[:3])})"
                                 "; run 'voicecoach model download' again")
            return path
        broken: list[tuple[Path, list[str]]] = []
        for m in manifest.models:
            p = path / m.name
            if p.is_dir():
                problems = model_problems(p)
                if not problems:
                    return p
                broken.append((p, problems))
        if broken:
            p, problems = broken[0]
            raise ModelError(f"{p} is not a complete Vosk model ({'; '.join(problems[:3])}); "
                             "run 'voicecoach model download' again")
        raise ModelError(f"no Vosk model in {path} (expected am/, conf/ and graph/ folders, or a "
                         f"folder named {manifest.default})")
    broken_any: tuple[Path, list[str]] | None = None
    for d in search_dirs():
        for m in manifest.models:
            p = d / m.name
            if not p.is_dir():
                continue
            problems = model_problems(p)
            if not problems:
                log.debug("Vosk model found: %s", p)
                return p
            log.warning("ignoring incomplete model %s: %s", p, "; ".join(problems[:3]))
            broken_any = broken_any or (p, problems)
    if broken_any is not None:
        p, problems = broken_any
        raise ModelError(f"the Vosk model in {p} is incomplete ({'; '.join(problems[:3])}); "
                         f"run 'voicecoach model download --force' or delete it")
    return None


# ---------------------------------------------------------------------------------- listing
@dataclass(frozen=True)
class ModelStatus:
    entry: ModelEntry
    path: Path | None
    """Where it is installed (None: not installed)."""
    installed_bytes: int
    problems: tuple[str, ...]

    @property
    def installed(self) -> bool:
        return self.path is not None and not self.problems


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def list_models(manifest: Manifest | None = None) -> list[ModelStatus]:
    """Every manifest model with where (and whether completely) it is installed."""
    manifest = manifest or load_manifest()
    out = []
    for m in manifest.models:
        p = installed_path(m.name)
        if p is None:
            out.append(ModelStatus(m, None, 0, ()))
        else:
            out.append(ModelStatus(m, p, _dir_bytes(p), tuple(model_problems(p))))
    return out


# ---------------------------------------------------------------------------------- download
class _Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, total: int | None, enabled: bool, stream: Any = None) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.last = 0.0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, done: int, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        mb = 1024 * 1024
        if self.total:
            frac = min(done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            line = (f"{self.label} [{bar:<30}] {frac * 100:5.1f}% {done / mb:6.1f}/"
                    f"{self.total / mb:.1f} MB {rate / mb:5.1f} MB/s")
        else:
            line = f"{self.label} {done / mb:6.1f} MB {rate / mb:5.1f} MB/s"
        end = "\n" if final or not self.tty else ""
        self.stream.write(("\r" if self.tty else "") + line + end)
        self.stream.flush()


def _fetch(url: str, part: Path, expected_sha: str, label: str, size_hint: int,
           progress: bool, timeout_s: float) -> None:
    """Stream ``url`` into ``part``, checking length and sha256; ModelError on any failure."""
    digest = hashlib.sha256()
    done = 0
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "voicecoach-model-download"})
        with urllib.request.urlopen(req, timeout=timeout_s) as resp, part.open("wb") as out:
            length_header = resp.headers.get("Content-Length")
            length = int(length_header) if length_header and length_header.isdigit() else None
            bar = _Progress(label, length or size_hint or None, progress)
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                bar.update(done)
            bar.update(done, final=True)
    except urllib.error.HTTPError as exc:
        raise ModelError(f"download failed: {url} answered HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise ModelError(f"download failed: cannot reach {url} ({exc.reason})") from exc
    except (OSError, ValueError) as exc:  # IncompleteRead, timeouts, disk full, bad URL
        raise ModelError(f"download of {url} failed after {done} bytes: "
                         f"{exc.__class__.__name__}: {exc}") from exc
    if length is not None and done != length:
        raise ModelError(f"download of {url} is truncated: got {done} of {length} bytes")
    got = digest.hexdigest()
    if got != expected_sha:
        raise ModelError(f"download of {url} is corrupt: sha256 {got}, expected {expected_sha} "
                         f"({done} bytes); nothing was installed")


def _safe_member_path(name: str) -> str:
    """The normalised relative path of a zip member; ModelError when it would escape."""
    if "\\" in name or "\0" in name:
        raise ModelError(f"unsafe path in the model archive: {name!r}")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ModelError(f"unsafe absolute path in the model archive: {name!r}")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or "/../" in f"/{norm}/":
        raise ModelError(f"unsafe path in the model archive (leaves the folder): {name!r}")
    return "" if norm == "." else norm


def safe_unzip(archive: Path, dest: Path) -> None:
    """Unpack ``archive`` into ``dest``, refusing absolute paths, '..', and escaping symlinks."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"the downloaded model archive is not a valid zip file: {exc}") from exc
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_UNPACKED_BYTES:
            raise ModelError(f"the model archive would unpack to {total} bytes: refused")
        plan: list[tuple[zipfile.ZipInfo, str]] = []
        for info in infos:  # check everything before writing anything
            rel = _safe_member_path(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                target = zf.read(info).decode("utf-8", "replace")
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
                if target.startswith("/") or joined == ".." or joined.startswith("../"):
                    raise ModelError(f"unsafe symlink in the model archive: {info.filename!r} -> "
                                     f"{target!r}")
            plan.append((info, rel))
        root = dest.resolve()
        for info, rel in plan:
            if not rel:
                continue
            out = (dest / rel)
            if not str(out.resolve()).startswith(str(root) + os.sep):
                raise ModelError(f"unsafe path in the model archive: {info.filename!r}")
            mode = info.external_attr >> 16
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
            elif stat.S_ISLNK(mode):
                out.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(zf.read(info).decode("utf-8"), out)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        bad = zf.testzip()
        if bad is not None:
            raise ModelError(f"the model archive is damaged (bad CRC in {bad})")


def _model_root(unpacked: Path, archive_root: str) -> Path:
    if archive_root and (unpacked / archive_root).is_dir():
        return unpacked / archive_root
    entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return unpacked


def _write_stamp(root: Path, entry: ModelEntry, url: str, sha: str) -> None:
    files = {str(f.relative_to(root)): f.stat().st_size
             for f in sorted(root.rglob("*")) if f.is_file() and not f.is_symlink()}
    stamp = {"name": entry.name, "url": url, "sha256": sha, "downloaded_at": int(time.time()),
             "files": files}
    (root / STAMP_NAME).write_text(json.dumps(stamp, indent=1) + "\n", "utf-8")


def download(name: str | None = None, dest: str | Path | None = None, url: str | None = None,
             progress: bool = True, *, force: bool = False, manifest: Manifest | None = None,
             timeout_s: float = 60.0) -> Path:
    """Download, check, unpack and install a manifest model; returns its directory.

    The archive streams to ``<dest>/.<name>.zip.part`` (``dest`` defaults to :func:`models_dir`),
    its sha256 must match the manifest (``url`` only changes where it comes from), it is unpacked
    safely next to the destination and renamed into place, so a failure at any point leaves no
    half-installed model. An already complete model is kept unless ``force``.
    """
    manifest = manifest or load_manifest()
    entry = manifest.get(name)
    dest_dir = Path(dest).expanduser() if dest is not None else models_dir()
    final = dest_dir / entry.name
    if final.is_dir() and not model_problems(final) and not force:
        log.info("%s is already installed in %s", entry.name, final)
        return final
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models directory {dest_dir}: {exc}") from exc
    source = url or entry.url
    part = dest_dir / f".{entry.name}.zip.part"
    unpack = Path(tempfile.mkdtemp(prefix=f".{entry.name}.unpack-", dir=dest_dir))
    try:
        log.info("downloading %s from %s", entry.name, source)
        _fetch(source, part, entry.sha256, entry.name, entry.size_bytes, progress, timeout_s)
        safe_unzip(part, unpack)
        root = _model_root(unpack, entry.archive_root)
        problems = model_problems(root)
        if problems:
            raise ModelError(f"the archive from {source} holds no complete Vosk model "
                             f"({'; '.join(problems[:3])})")
        _write_stamp(root, entry, source, entry.sha256)
        old: Path | None = None
        if final.exists() or final.is_symlink():
            old = dest_dir / f".{entry.name}.old-{os.getpid()}"
            os.replace(final, old)
        os.replace(root, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
        shutil.rmtree(unpack, ignore_errors=True)
    log.info("installed %s in %s", entry.name, final)
    return final


# ---------------------------------------------------------------------------------- CLI
def _human(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def cmd_list(args: argparse.Namespace) -> int:
    """``voicecoach model list``."""
    statuses = list_models()
    print(f"models directory: {models_dir()}")
    for s in statuses:
        e = s.entry
        if s.path is None:
            state = "not installed"
        elif s.problems:
            state = f"DAMAGED at {s.path} ({s.problems[0]})"
        else:
            state = f"installed at {s.path} ({_human(s.installed_bytes)})"
        print(f"{e.name}  [{e.engine}, {e.language}, {e.license}, download {_human(e.size_bytes)}]"
              f"  {state}")
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    """``voicecoach model path [NAME]``: prints the model directory; 1 when it is not there."""
    manifest = load_manifest()
    entry = manifest.get(args.name)
    p = installed_path(entry.name)
    if p is None:
        print(models_dir() / entry.name)
        print(f"voicecoach: {entry.name} is not installed (run 'voicecoach model download')",
              file=sys.stderr)
        return 1
    print(p)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """``voicecoach model verify [NAME|DIR]``: 0 when the model is complete, 1 otherwise."""
    report = verify(args.target)
    label = report.name or str(report.path)
    if report.ok:
        print(f"{label}: OK ({report.path})")
        if report.sha256:
            print(f"  archive sha256 {report.sha256}")
        for n in report.notes:
            print(f"  note: {n}")
        return 0
    print(f"{label}: NOT USABLE ({report.path})")
    for p in report.problems:
        print(f"  - {p}")
    print("  fix: run 'voicecoach model download --force'"
          + (f" {report.name}" if report.name else ""))
    return 1


def cmd_download(args: argparse.Namespace) -> int:
    """``voicecoach model download [NAME] [--url URL] [--dest DIR]``."""
    path = download(args.name, dest=args.dest, url=args.url, progress=not args.quiet,
                    force=args.force)
    print(f"model ready: {path}")
    return 0


def add_subcommand(subparsers: Any) -> None:
    """Register ``model`` (list | path | verify | download) on an argparse subparsers object.

    Each sub-command's handler is stored as ``func`` (``args.func(args) -> int``).
    """
    default = "vosk-model-small-en-us-0.15"
    with contextlib.suppress(ModelError):
        default = load_manifest().default
    p = subparsers.add_parser(
        "model", help="list, locate, check and download speech models",
        description="Manage the Vosk speech models listed in the manifest. Models are installed "
                    f"in {models_dir()} (set ${ENV_MODELS} to change it); ./models and the "
                    "source checkout's models/ folder are searched too.")
    sub = p.add_subparsers(dest="model_command", metavar="{list,path,verify,download}")
    sub.required = True
    sp = sub.add_parser("list", help="show known models and whether they are installed",
                        description="Show every model in the manifest, where it is installed, "
                                    "its size, and whether it is complete.")
    sp.set_defaults(func=cmd_list)
    sp = sub.add_parser("path", help="print the directory of an installed model",
                        description="Print the directory of an installed model (exit status 1 "
                                    "and the would-be location when it is not installed).")
    sp.add_argument("name", nargs="?", default=None, metavar="NAME",
                    help=f"model name from the manifest (default: {default})")
    sp.set_defaults(func=cmd_path)
    sp = sub.add_parser("verify", help="check that a model is complete",
                        description="Check that a model has every file Vosk needs and, for a "
                                    "downloaded model, that no file changed since the download "
                                    "(sizes and archive sha256 recorded in "
                                    f"{STAMP_NAME}). Exit status 1 when it is not usable.")
    sp.add_argument("target", nargs="?", default=None, metavar="NAME|DIR",
                    help="a manifest model name or a model directory (default: the model "
                         "'--engine auto' would use, else the default model)")
    sp.set_defaults(func=cmd_verify)
    sp = sub.add_parser("download", help=f"download a model (default: {default})",
                        description="Download a model archive with a progress bar, check its "
                                    "sha256 against the manifest, unpack it safely and install "
                                    "it where '--engine auto' finds it.")
    sp.add_argument("name", nargs="?", default=None, metavar="NAME",
                    help=f"model name from the manifest (default: {default})")
    sp.add_argument("--url", default=None,
                    help="download from this URL instead (a mirror; the manifest sha256 is "
                         "still checked)")
    sp.add_argument("--dest", default=None, metavar="DIR",
                    help=f"install into DIR instead of {models_dir()}")
    sp.add_argument("--force", action="store_true",
                    help="download again even when a complete copy is installed")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_download)
