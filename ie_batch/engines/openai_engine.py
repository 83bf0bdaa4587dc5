"""The OpenAI-compatible engine: each prompt is one chat completion on a server (`vllm serve`,
Ray Serve LLM's OpenAI app, SGLang, a hosted API), sent from a CPU actor.

One engine per actor, many requests in flight: at most `engine.max_concurrent_requests` at once
and, with `engine.max_requests_per_second`, at most that many starting per second (retries
included). A request answered 408, 409, 429 or 5xx, timed out, refused a connection or cut off is
retried up to `engine.max_retries` times, after an exponential backoff with jitter; a
`Retry-After` (seconds or an HTTP date; OpenAI's `retry-after-ms` too) is honoured, and holds
every request of the engine until then, since it speaks for the whole server. Any other answer
is the prompt's error (its row's, never the batch's).

Each answer is constrained to its slice's JSON schema (`response_format: json_schema`); a server
that rejects `response_format` is asked without it from then on, and the answers are parsed
tolerantly as always. Token usage comes from the responses. Prompt tokens are counted with the
served model's tokenizer when it is available here (`engine.tokenizer`, else `engine.model` if it
is a local folder or in the local Hugging Face cache), else estimated as one token per UTF-8 byte
plus a chat-template allowance: a byte-level BPE token holds at least one byte, so the estimate
errs long and a prompt it fits into the context fits for real (at the cost of narrower windows).

The API key is read where the engine runs, from the environment variable `engine.api_key_env`
names; it goes into the Authorization header only and is masked out of every error text.

Why httpx and not the `openai` package: the engine uses one endpoint and must own what the
client would otherwise decide for it (retries and which answers deserve one, Retry-After, a rate
shared by concurrent requests, no Authorization header at all when there is no key, error texts
with the key masked). httpx is the transport the `openai` client itself is built on, is small and
stable, and keeps ie_batch out of the version pins vLLM puts on `openai`. The request and answer
shapes are the OpenAI chat-completions API's.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ie_batch.config import EngineConfig
from ie_batch.engines.base import Engine, Generation
from ie_batch.engines.prompt_tokens import PromptTokenizer
from ie_batch.prompts import Prompt

log = logging.getLogger(__name__)

#: Answers worth asking again: timeout, conflict, throttling, and every server error.
RETRYABLE_STATUSES = frozenset({408, 409, 429})
#: The longest Retry-After honoured (seconds); a longer one is cut to this.
MAX_RETRY_AFTER_S = 300.0
#: Seconds to open a connection at most (within the request's own timeout).
CONNECT_TIMEOUT_S = 10.0
#: The token estimate's allowance for a chat template (its fixed text: a default system prompt,
#: the generation prompt) and for each message's role markers.
ESTIMATE_TEMPLATE_TOKENS = 64
ESTIMATE_MESSAGE_TOKENS = 8
#: Words in a rejection that say it is `response_format` the server does not take.
_STRUCTURED_OUTPUT_WORDS = ("response_format", "json_schema", "structured output")
#: Characters of a server's error text kept in a row's error.
_ERROR_CHARS = 300


class EngineSetupError(ValueError):
    """An OpenAI-compatible engine that cannot be built as configured; names the field."""


@dataclass
class RequestCounts:
    """What the engine did, for tests and logs: HTTP attempts, and why some were repeated."""

    attempts: int = 0
    retries: int = 0
    throttled: int = 0  # 429
    server_errors: int = 0  # 5xx, 408, 409
    connection_errors: int = 0  # refused, reset, cut off, timed out
    gave_up: int = 0
    structured_outputs_dropped: bool = False


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """How long an answer asks the client to wait: `retry-after-ms` (OpenAI), else
    `Retry-After` as seconds or an HTTP date (RFC 9110, 10.2.3); None when it says nothing
    usable. Cut to `MAX_RETRY_AFTER_S`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    seconds: float | None = None
    if "retry-after-ms" in lowered:
        try:
            seconds = float(lowered["retry-after-ms"]) / 1000.0
        except ValueError:
            seconds = None
    if seconds is None and "retry-after" in lowered:
        value = lowered["retry-after"].strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds is None or seconds != seconds:  # absent, or NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def backoff_seconds(retry: int, base: float, cap: float, rng: random.Random) -> float:
    """The wait before retry number `retry` (0 for the first): exponential, capped, with "equal
    jitter" (half fixed, half random), so concurrent retries spread out yet never come at once."""
    ceiling = min(cap, base * (2.0**retry))
    return ceiling / 2.0 + rng.uniform(0.0, ceiling / 2.0)


def estimate_tokens(prompt: Prompt) -> int:
    """Tokens the prompt takes at most on a byte-level BPE model, chat template included: one per
    UTF-8 byte plus the template allowances (see the module's docstring)."""
    return ESTIMATE_TEMPLATE_TOKENS + sum(
        ESTIMATE_MESSAGE_TOKENS + len(message.content.encode("utf-8"))
        for message in prompt.messages
    )


class RequestPacer:
    """When the next request may start: at most `per_second` starts a second (None: no cap),
    and none before a time a server asked for (`hold`). Bound to one event loop."""

    def __init__(
        self,
        per_second: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._held_until = 0.0
        self._lock = asyncio.Lock()

    def hold(self, until: float) -> None:
        """No request starts before `until` (on this pacer's clock)."""
        self._held_until = max(self._held_until, until)

    async def turn(self) -> None:
        """Wait for this request's turn; turns are given in the order they were asked for."""
        async with self._lock:
            while True:
                now = self._clock()
                start = max(self._next, self._held_until)
                if start <= now:
                    break
                await self._sleep(start - now)
            self._next = max(now, self._next) + self._interval


@dataclass
class _Session:
    """What belongs to one event loop: the HTTP client, the request slots, the pacer."""

    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    slots: asyncio.Semaphore
    pacer: RequestPacer


@dataclass(frozen=True)
class _Retry:
    reason: str
    retry_after: float | None = None


class OpenAIEngine(Engine):
    """Prompts as chat completions on an OpenAI-compatible server (see the module's docstring)."""

    def __init__(
        self,
        config: EngineConfig,
        tokenizer: Any = None,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not config.base_url:
            raise EngineSetupError("engine.base_url: required with engine.kind 'openai'")
        self._config = config
        self._tokenizer = tokenizer
        self._prompt_tokens = PromptTokenizer(tokenizer) if tokenizer is not None else None
        self._api_key = api_key
        self._transport = transport
        self._rng = rng or random.Random()
        self._structured = config.structured_outputs
        self._session_: _Session | None = None
        self.counts = RequestCounts()
        self.max_model_len = config.max_model_len
        self.max_tokens = config.max_tokens

    @classmethod
    def from_config(
        cls, config: EngineConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> OpenAIEngine:
        """The engine for `config`, with the key from the environment and the tokenizer, when
        there is one here; `transport` replaces the network (tests)."""
        api_key = None
        if config.api_key_env:
            api_key = os.environ.get(config.api_key_env)
            if not api_key:
                raise EngineSetupError(
                    f"engine.api_key_env: the environment variable {config.api_key_env} is not "
                    "set where the engine runs (set it on every node, as for storage credentials)"
                )
        return cls(config, tokenizer=load_tokenizer(config), api_key=api_key, transport=transport)

    def __repr__(self) -> str:  # never the key
        return f"OpenAIEngine(base_url={self._config.base_url!r}, model={self._config.model!r})"

    # ------------------------------------------------------------------------------ tokens

    def count_tokens(self, prompt: Prompt) -> int:
        if self._prompt_tokens is None:
            return estimate_tokens(prompt)
        return self._prompt_tokens.count(prompt)

    def _count_text(self, text: str) -> int:
        if self._tokenizer is None:
            return len(text.encode("utf-8"))
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    # ------------------------------------------------------------------------------ requests

    async def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        return list(await asyncio.gather(*(self._one(prompt) for prompt in prompts)))

    async def _one(self, prompt: Prompt) -> Generation:
        try:
            return await self._ask(prompt)
        except Exception as exc:  # noqa: BLE001 - one failed prompt must not fail its batch
            return Generation(
                text="", error=f"openai: {type(exc).__name__}: {self._mask(str(exc))}"
            )

    async def _ask(self, prompt: Prompt) -> Generation:
        """The prompt's answer, asked again while the server's answers say it is worth it."""
        session = self._session()
        config = self._config
        retries = 0
        while True:
            outcome = await self._attempt(session, prompt)
            if isinstance(outcome, Generation):
                return outcome
            if retries >= config.max_retries:
                self.counts.gave_up += 1
                attempts = retries + 1
                return Generation(
                    text="",
                    error=f"openai: gave up after {attempts} attempt(s): {outcome.reason}",
                )
            if outcome.retry_after is not None:
                # the server speaks for all requests: hold them all, this one a little longer
                session.pacer.hold(time.monotonic() + outcome.retry_after)
                wait = outcome.retry_after + self._rng.uniform(0.0, config.retry_backoff_s)
            else:
                wait = backoff_seconds(
                    retries, config.retry_backoff_s, config.retry_backoff_max_s, self._rng
                )
            log.debug("openai: %s; retry %d in %.2f s", outcome.reason, retries + 1, wait)
            retries += 1
            self.counts.retries += 1
            await asyncio.sleep(wait)

    async def _attempt(self, session: _Session, prompt: Prompt) -> Generation | _Retry:
        """One request: its Generation (answer or the prompt's error), or why to ask again."""
        await session.pacer.turn()
        async with session.slots:
            structured = self._structured  # as it is now: another request may have dropped it
            self.counts.attempts += 1
            try:
                response = await session.client.post(
                    "/chat/completions", json=self._body(prompt, structured)
                )
            except httpx.TimeoutException as exc:
                self.counts.connection_errors += 1
                return _Retry(f"no answer within the timeout ({type(exc).__name__})")
            except httpx.TransportError as exc:
                self.counts.connection_errors += 1
                return _Retry(f"connection error: {type(exc).__name__}: {self._mask(str(exc))}")
            except httpx.HTTPError as exc:  # an answer that cannot be read, a redirect loop
                return Generation(
                    text="", error=f"openai: {type(exc).__name__}: {self._mask(str(exc))}"
                )
        status = response.status_code
        if status == 200:
            return self._generation(prompt, response)
        message = self._server_message(response)
        if status in RETRYABLE_STATUSES or status >= 500:
            if status == 429:
                self.counts.throttled += 1
            else:
                self.counts.server_errors += 1
            return _Retry(f"HTTP {status}: {message}", retry_after_seconds(response.headers))
        if structured and status in (400, 422) and _rejects_structured_outputs(message):
            self._drop_structured_outputs(message)
            return await self._attempt(session, prompt)
        return Generation(text="", error=f"openai: HTTP {status}: {message}")

    def _body(self, prompt: Prompt, structured: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._config.model,
            "messages": prompt.chat(),
            "max_tokens": self._config.max_tokens,
            "temperature": self._config.temperature,
        }
        if structured:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": prompt.answer_schema, "strict": True},
            }
        return body

    def _generation(self, prompt: Prompt, response: httpx.Response) -> Generation:
        try:
            data = response.json()
            choice = data["choices"][0]
            message = choice.get("message") or {}
            text = message.get("content")
            finish_reason = choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return Generation(text="", error="openai: the server's answer is not a chat completion")
        if not isinstance(text, str):
            refusal = message.get("refusal")
            reason = f"refused: {self._mask(str(refusal))[:_ERROR_CHARS]}" if refusal else "empty"
            return Generation(text="", error=f"openai: the answer is {reason}")
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        details = usage.get("prompt_tokens_details")  # vLLM and OpenAI report cache hits here
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        return Generation(
            text=text,
            prompt_tokens=prompt_tokens
            if isinstance(prompt_tokens, int)
            else self.count_tokens(prompt),
            completion_tokens=completion_tokens
            if isinstance(completion_tokens, int)
            else self._count_text(text),
            cached_tokens=cached if isinstance(cached, int) else 0,
            finish_reason=finish_reason,
        )

    def _server_message(self, response: httpx.Response) -> str:
        """The server's own words about an error (OpenAI's `error.message`, or vLLM's and
        FastAPI's shapes), cut short and with the key masked."""
        try:
            data = response.json()
        except ValueError:
            text = response.text
        else:
            text = None
            if isinstance(data, dict):
                error = data.get("error")
                if isinstance(error, dict):
                    text = error.get("message")
                elif isinstance(error, str):
                    text = error
                text = text or data.get("message") or data.get("detail")
            text = str(text if text is not None else data)
        return self._mask(" ".join(text.split()))[:_ERROR_CHARS] or response.reason_phrase

    def _mask(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _drop_structured_outputs(self, message: str) -> None:
        if self._structured:
            self._structured = False
            self.counts.structured_outputs_dropped = True
            log.warning(
                "ie_batch: the server at %s rejects response_format (%s); asking without it, "
                "answers are parsed tolerantly",
                self._config.base_url,
                message,
            )

    # ------------------------------------------------------------------------------ the client

    def _session(self) -> _Session:
        """This event loop's client, slots and pacer (a new loop gets new ones: asyncio objects
        and connections belong to the loop they were made on)."""
        loop = asyncio.get_running_loop()
        if self._session_ is None or self._session_.loop is not loop:
            config = self._config
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            client = httpx.AsyncClient(
                base_url=config.base_url or "",
                headers=headers,
                timeout=httpx.Timeout(
                    config.request_timeout_s,
                    connect=min(CONNECT_TIMEOUT_S, config.request_timeout_s),
                ),
                limits=httpx.Limits(
                    max_connections=config.max_concurrent_requests,
                    max_keepalive_connections=config.max_concurrent_requests,
                ),
                transport=self._transport,
            )
            self._session_ = _Session(
                loop,
                client,
                asyncio.Semaphore(config.max_concurrent_requests),
                RequestPacer(config.max_requests_per_second),
            )
        return self._session_

    def shutdown(self) -> None:
        """Close the connections (on their own loop, when it still runs)."""
        session, self._session_ = self._session_, None
        if session is None or session.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is session.loop:
            session.loop.create_task(session.client.aclose())
        elif session.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(session.client.aclose(), session.loop)
            try:
                future.result(timeout=CONNECT_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - closing is best effort; the process may be ending
                pass


def _rejects_structured_outputs(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _STRUCTURED_OUTPUT_WORDS)


def load_tokenizer(config: EngineConfig) -> Any:
    """The served model's tokenizer when it is at hand: `engine.tokenizer` (which must load),
    else `engine.model` if it is a local folder or in the local Hugging Face cache; None when
    neither is (prompt tokens are then estimated). Never downloads."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        if config.tokenizer:
            raise EngineSetupError(
                "engine.tokenizer: loading a tokenizer needs the transformers package"
            ) from None
        return None
    if config.tokenizer:
        from ie_batch.engines.embedded_model import resolve_model

        source = resolve_model(config.tokenizer)
        try:
            return AutoTokenizer.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EngineSetupError(
                f"engine.tokenizer: {config.tokenizer}: no tokenizer found here ({exc})"
            ) from None
    try:
        return AutoTokenizer.from_pretrained(config.model, local_files_only=True)
    except Exception:  # noqa: BLE001 - not on this machine: the estimate stands in
        return None
