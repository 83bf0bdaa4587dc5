"""The online endpoint on Ray Serve: the batch job's schemas and extraction code over HTTP.

- `ie_batch.serve.app`: the Serve deployment, `build_app(...)`, `app_builder(args)` and the
  default `app` (`serve run ie_batch.serve.app:app`); imports Ray Serve and FastAPI.
- `ie_batch.serve.requests`: the request model and its checks: body size and depth, UTF-8,
  the limits (no Ray, no engine).
- `ie_batch.serve.settings`: the service settings with their `Limits`, the deployment settings,
  builder arguments (no Ray).
"""
