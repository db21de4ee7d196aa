"""all-MiniLM-L6-v2 exported to ONNX with int8 weights and run by onnxruntime: the memory's embedder.

About 2x the PyTorch throughput on CPU (on this project's 2-core AVX2 machine: a batch of 4 questions took 28 ms
of one thread against PyTorch's 59 ms; in batches of 64 a question takes about 3.3 ms on the clock and 6.2 ms of
CPU, so 100k questions take about 6 minutes). Its vectors differ slightly from the float model's (cosine
~0.993), so they form their own vector space (MINILM_INT8_NAME) and every threshold is calibrated on them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memory.embeddings import EMBED_CACHE, MINILM_INT8_NAME, _ArrayLRU, _content_key, packaged_model_path

# Bump when the export recipe changes, so a cached ONNX file from an older recipe is not reused.
_ONNX_RECIPE = "v1-opset17-int8-per-channel"


def default_cache_dir() -> Path:
    """Where derived model files (the int8 ONNX export) are kept: $XDG_CACHE_HOME or ~/.cache, under benchmark-agent."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "benchmark-agent"


def export_int8_onnx(model_dir: Path, target: Path) -> Path:
    """Export the transformer of `model_dir` to ONNX and quantize its weights to int8 (per channel), atomically.

    Needs torch (installed for sentence-transformers) and the `onnx` package; takes ~5 s on 2 cores. The
    quantized model's vectors have cosine ~0.993 (min ~0.987) to the float model's, so they live in their own
    vector space (`MINILM_INT8_NAME`) and every threshold is calibrated on them.
    """
    import warnings

    try:
        import onnx  # noqa: F401  (torch's exporter and the quantizer both need it)
    except ImportError as exc:
        raise RuntimeError("Exporting the embedding model needs the `onnx` package: pip install onnx==1.23.2") from exc
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class _Encoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).long()
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow, which is shape-independent here
        plain, quantized = Path(tmp) / "model.onnx", Path(tmp) / "model-int8.onnx"
        torch.onnx.export(
            _Encoder(model), (ids, mask, torch.zeros_like(ids)), str(plain), dynamo=False, opset_version=17,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
        )
        quantize_dynamic(str(plain), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(quantized, target)
    return target


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 as an int8 ONNX model run by onnxruntime: ~2-3x the PyTorch throughput on CPU.

    The ONNX file is exported from the packaged model on first use and cached (`cache_dir`). Texts are
    tokenized by the model's own fast tokenizer, truncated to `max_tokens`, sorted by length and run in
    batches, so padding costs little. A text embedded again while recently used is not encoded again (LRU by sha256).
    """

    name = MINILM_INT8_NAME

    def __init__(
        self,
        path: Path | None = None,
        *,
        cache_dir: Path | None = None,
        batch_size: int = 64,
        max_tokens: int = 128,
        cache_size: int = EMBED_CACHE,
        threads: int | None = None,
    ) -> None:
        self._path = path
        self._cache_dir = cache_dir
        self._batch_size = batch_size
        self._max_tokens = max_tokens
        self._threads = threads
        self._cache = _ArrayLRU(cache_size)
        self._loaded: tuple[Any, Any] | None = None  # (onnxruntime session, tokenizer)
        self._lock = threading.Lock()

    @property
    def cached(self) -> int:
        return len(self._cache)

    def onnx_file(self) -> Path:
        """The int8 model file for the packaged weights, exported here if it is not cached yet."""
        model_dir = self._path or packaged_model_path()
        weights = model_dir / "model.safetensors"
        stamp = f"{_ONNX_RECIPE}:{weights.stat().st_size}:{(model_dir / 'config.json').read_text()}"
        digest = hashlib.sha256(stamp.encode()).hexdigest()[:12]
        target = (self._cache_dir or default_cache_dir()) / f"minilm-int8-{digest}.onnx"
        if not target.is_file():
            export_int8_onnx(model_dir, target)
        return target

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            options = ort.SessionOptions()
            # Idle worker threads sleep instead of spinning: a build embeds a few questions at a time between model
            # calls, and spinning threads took more CPU than the embedding itself (measured: 33 vs 14 ms per 4 texts).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
            if self._threads:
                options.intra_op_num_threads = self._threads
            session = ort.InferenceSession(str(self.onnx_file()), options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str((self._path or packaged_model_path()) / "tokenizer.json"))
            tokenizer.no_padding()  # the shipped tokenizer.json pads to 128: batches are padded here instead
            tokenizer.enable_truncation(self._max_tokens)
            self._loaded = (session, tokenizer)
        return self._loaded

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for `texts` as a float32 matrix (one row per text), each distinct text embedded once."""
        keys = [_content_key(text) for text in texts]
        out = np.empty((len(texts), 384), dtype=np.float32)
        missing: dict[str, str] = {}
        rows_of: dict[str, list[int]] = {}
        for row, (key, text) in enumerate(zip(keys, texts, strict=True)):
            vector = self._cache.get(key)
            if vector is not None:
                out[row] = vector
            else:
                missing.setdefault(key, text)
                rows_of.setdefault(key, []).append(row)
        if missing:
            with self._lock:
                vectors = self._encode(list(missing.values()))
            for key, vector in zip(missing, vectors, strict=True):
                self._cache.put(key, vector)
                out[rows_of[key]] = vector
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(lengths, kind="stable")
        vectors = np.empty((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            rows = order[start : start + self._batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                ids[i, : lengths[row]] = encodings[row].ids
                mask[i, : lengths[row]] = 1
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)  # mean pooling
            vectors[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return vectors
