"""Accuracy benchmark: the real job on public labelled data, one table dataset x configuration.

    .venv/bin/python -m bench.accuracy --dataset conll2003-valid --limit 100 \
        --config plain --config defaults --config no-run-off

Modules: `conversion` (tag sequences -> spans, readers of the raw formats; pure Python),
`datasets` (which package ships which split, fetching it into a cache), `configurations`
(named bundles of job and schema overrides), `runner` (one job per dataset x configuration),
`table` (the printed, JSON and markdown results).
"""
