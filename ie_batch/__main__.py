"""`python -m ie_batch ...`: the `ie-batch` command, for an environment whose scripts folder is
not on PATH (a Ray image, a notebook kernel, `pip install --user`)."""

from ie_batch.cli import app

if __name__ == "__main__":
    app(prog_name="ie-batch")
