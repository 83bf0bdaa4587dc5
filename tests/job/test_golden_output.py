"""The job's whole output folder, `retry-errors`, `status`, the CLI help and the demo configs'
fingerprints are exactly what the golden snapshot recorded (wall-clock fields aside)."""

import json

import pytest

from tests.job.golden.snapshot import SNAPSHOT, take_snapshot

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def snapshots(ray_runtime, tmp_path_factory):
    actual = take_snapshot(tmp_path_factory.mktemp("golden"))
    # through JSON, as the snapshot was written: tuples become lists, numbers compare as written
    actual = json.loads(json.dumps(actual, ensure_ascii=False, sort_keys=True, default=str))
    return json.loads(SNAPSHOT.read_text(encoding="utf-8")), actual


@pytest.mark.parametrize("part", ["run", "retry", "status", "help", "fingerprints"])
def test_the_output_matches_the_golden_snapshot(snapshots, part):
    expected, actual = snapshots
    if part in ("run", "retry"):
        assert sorted(actual[part]["files"]) == sorted(expected[part]["files"])
        for name, content in expected[part]["files"].items():
            assert actual[part]["files"][name] == content, name
        assert actual[part]["report"] == expected[part]["report"]
    else:
        assert actual[part] == expected[part]
