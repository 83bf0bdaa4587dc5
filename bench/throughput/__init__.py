"""Throughput of the job against its limits, on the same documents in one run (not in CI).

    .venv/bin/python -m bench.throughput --dataset conll2003-valid --limit 32

(b) the ie_batch job runs first, with an engine that records every prompt it is sent; (a) raw
vLLM `LLM.generate` and (c) Ray Data LLM's processor then replay exactly those prompts with the
same sampling and structured outputs, and (d) asks each document once for every label. See
bench/README.md ("Throughput").
"""
