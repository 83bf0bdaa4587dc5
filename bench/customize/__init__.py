"""The customization loop measured: F1 of the job before and after LoRA fine-tuning on a train
subset of a bench data set (`python -m bench.customize`)."""
