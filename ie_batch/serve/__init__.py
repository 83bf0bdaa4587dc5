"""The online endpoint on Ray Serve: the batch job's schemas and extraction code over HTTP.

- `ie_batch.serve.app`: the Serve deployment, `build_app(...)`, `app_builder(args)` and the
  default `app` (`serve run ie_batch.serve.app:app`); imports Ray Serve and FastAPI.
- `ie_batch.serve.requests`: the request model, limits and checks (no Ray, no engine).
- `ie_batch.serve.settings`: the service and deployment settings, builder arguments (no Ray).
"""
