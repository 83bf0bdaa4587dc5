"""`ie-batch train --ray`: the same training, data-parallel on Ray Train workers.

Each worker runs `lora_training.fit` inside `train_loop_per_worker`; Ray Train has set up the
torch process group, so transformers' Trainer wraps the model in DistributedDataParallel and
shards the batches. Checkpoints go through Ray Train: `RayTrainReportCallback` reports every
checkpoint the Trainer saves (`ray.train.report(checkpoint=...)`), and a run started again with
the same output folder finds Ray Train's run folder there and gets the latest checkpoint back
from `ray.train.get_checkpoint()`, from which the Trainer resumes (optimizer, scheduler, RNG,
step, data position). The first worker reports the finished adapter folder, with the Trainer's
last checkpoint inside it, as the last checkpoint; the driver copies the adapter into the output
folder (a run resumed later with more steps continues from the checkpoint inside).

The output folder (Ray Train's storage path) must be reachable from every node: a shared file
system, or run the driver where the workers are. The address is RAY_ADDRESS's, else a local Ray.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from ie_batch.customize.lora_training import (
    Log,
    TrainingError,
    finish,
    fit,
    save_adapter,
)
from ie_batch.customize.training_options import TrainingOptions
from ie_batch.customize.training_record import RECORD_NAME, read_record

#: Ray Train's run name, under <output>/ray.
RUN_NAME = "train"
RAY_DIR = "ray"
#: Where a Ray Train checkpoint holds the Trainer's (RayTrainReportCallback.CHECKPOINT_NAME).
TRAINER_CHECKPOINT = "checkpoint"


def train_on_ray(options: TrainingOptions, log: Log = print) -> Any:
    """Train on `options.workers` Ray Train workers; return the adapter's record."""
    import ray
    from ray.train import CheckpointConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    storage = (options.output / RAY_DIR).resolve()
    run_dir = storage / RUN_NAME
    if run_dir.exists() and not options.resume:
        raise TrainingError(
            f"{options.output}: holds an earlier Ray Train run ({run_dir}); pass --resume to "
            "continue it, or choose another output folder"
        )
    if options.resume and not run_dir.exists():
        raise TrainingError(f"{run_dir}: no Ray Train run to resume")
    (options.output / RECORD_NAME).unlink(missing_ok=True)
    if not ray.is_initialized():
        ray.init()  # RAY_ADDRESS when set, else a local Ray on this machine
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"options": options.model_dump(mode="json")},
        scaling_config=ScalingConfig(num_workers=options.workers, use_gpu=options.use_gpu),
        run_config=RunConfig(
            name=RUN_NAME,
            storage_path=str(storage),
            # the newest Trainer checkpoints, and the finished adapter reported after them
            checkpoint_config=CheckpointConfig(num_to_keep=options.save_total_limit + 1),
        ),
    )
    log(f"training on {options.workers} Ray Train worker(s); run folder {run_dir}")
    result = trainer.fit()
    if result.checkpoint is None:
        raise TrainingError(f"{run_dir}: Ray Train finished without a checkpoint")
    options.output.mkdir(parents=True, exist_ok=True)
    result.checkpoint.to_directory(str(options.output))
    # the Trainer checkpoint inside it stays in Ray Train's run folder, where a resume finds it
    shutil.rmtree(options.output / TRAINER_CHECKPOINT, ignore_errors=True)
    return finish(read_record(options.output), options, log)


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: resume from Ray Train's latest checkpoint if there is one, train,
    and (the first worker) report the finished adapter folder as the last checkpoint."""
    import ray.train
    from ray.train import Checkpoint
    from ray.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer
    from transformers.trainer_utils import get_last_checkpoint

    options = TrainingOptions.model_validate(config["options"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    with tempfile.TemporaryDirectory(prefix="ie_batch_train_") as work:
        work_dir = Path(work)
        resume_from = None
        latest = ray.train.get_checkpoint()
        if latest is not None:
            local = Path(latest.to_directory(str(work_dir / "resume")))
            resume_from = str(local / RayTrainReportCallback.CHECKPOINT_NAME)
        # Each worker's own Trainer folder: only the first writes checkpoints, and they reach
        # the other nodes (and a later run) through Ray Train alone.
        checkpoints = work_dir / "checkpoints"
        result = fit(
            options,
            checkpoints,
            resume_from,
            callbacks=[RayTrainReportCallback()],
            prepare=prepare_trainer,
            use_gpu=options.use_gpu,
            log=print if rank == 0 else _quiet,
        )
        checkpoint = None
        if rank == 0:
            # The last checkpoint is the adapter folder, with the Trainer's last checkpoint
            # inside it: a later run given more steps resumes from there.
            final = work_dir / "final"
            save_adapter(result, options, final, workers=world)
            last = get_last_checkpoint(str(checkpoints)) or resume_from
            if last is not None:
                shutil.copytree(last, final / RayTrainReportCallback.CHECKPOINT_NAME)
            checkpoint = Checkpoint.from_directory(str(final))
        ray.train.report({"finished": 1, "step": result.trainer.state.global_step}, checkpoint)


def _quiet(line: str) -> None:
    pass
