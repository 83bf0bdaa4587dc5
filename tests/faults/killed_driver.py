"""A job driver that SIGKILLs itself (and the Ray it started: its whole process group) at one
chosen point of the output's clear or publish, for the driver-kill fault tests.

    python -m tests.faults.killed_driver INPUT OUTPUT {clear,publish} [--force]

`clear`: the kill comes right after a shard's `data/` folder is removed during a `--force`
clear (its marker is already gone, its metrics and errors are still there). `publish`: it
comes after the first part of a shard is moved into `data/` (merged in staging by a Ray task
beforehand, or as the write stage staged it), before its errors, metrics and marker. The
injection wraps the local filesystem's `rm` and `mv` in this process only: everything else is
the real job.
"""

from __future__ import annotations

import argparse
import os
import signal

from fsspec.implementations.local import LocalFileSystem

from ie_batch.engines.fake import FakeEngineFactory
from tests.s3.run_job_script import LEXICON, job_config


def _die() -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


def _kill_after_clearing_data(output: str) -> None:
    remove = LocalFileSystem.rm

    def rm(self, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        remove(self, path, *args, **kwargs)
        if str(path).startswith(f"{output}/data/"):
            _die()

    LocalFileSystem.rm = rm  # type: ignore[method-assign]


def _kill_after_first_published_part(output: str) -> None:
    move = LocalFileSystem.mv

    def mv(self, source, destination, *args, **kwargs):  # type: ignore[no-untyped-def]
        move(self, source, destination, *args, **kwargs)
        if str(destination).startswith(f"{output}/data/"):
            _die()

    LocalFileSystem.mv = mv  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("point", choices=["clear", "publish"])
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    output = os.path.abspath(args.output)
    {"clear": _kill_after_clearing_data, "publish": _kill_after_first_published_part}[args.point](
        output
    )

    import ray

    from ie_batch.job.run import run_job

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    run_job(
        job_config(args.input, output, "-"),
        engine_factory=FakeEngineFactory(LEXICON),
        print_report=False,
        force=args.force,
    )
    raise SystemExit("the job ended without reaching the kill point")


if __name__ == "__main__":
    main()
