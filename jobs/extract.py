"""Entry point for `ray job submit`: the same job as `ie-batch run`, on the cluster it runs in.

    ray job submit --address http://HEAD:8265 --runtime-env cluster/runtime_env.yaml -- \
        python jobs/extract.py --config cluster/jobs/news_enrichment.yaml

It takes the options of `ie-batch run` (--config, --input, --schema, --output, --model, --limit,
--ray-address, --force). Inside a submitted job, `ray.init()` attaches to the job's own cluster
(the job supervisor sets RAY_ADDRESS), so leave `ray_address` unset. Relative paths resolve in
the job's working directory, the uploaded copy of the repository: write results to object
storage or to an absolute path. Cluster definitions and commands: cluster/README.md.
"""

import sys

from ie_batch.cli import app

if __name__ == "__main__":
    app(["run", *sys.argv[1:]], prog_name="jobs/extract.py")
