"""Entry point for `ray job submit`: the same job as `ie-batch run`, on the cluster it runs in.

    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python jobs/extract.py --config examples/demo_en.yaml
"""

from ie_batch.cli import app

if __name__ == "__main__":
    app(["run", *__import__("sys").argv[1:]])
