"""The embedded SmolLM2 in-process against the same GGUF behind llama-cpp-python's OpenAI-compatible server.

Runs the same small CLI build twice: once with the embedded default (the in-process adapter, grammar-constrained
by our own schema-to-grammar code), once with `--model openai:smollm2` against `python -m llama_cpp.server` on a
free loopback port (the code path every real endpoint takes). Prints JSON: wall seconds, status and accepted
samples of each, the server's start-up time, and the output mode the probe found.

    python bench/embedded_endpoint.py [--request "yes/no questions about colours"] [--size 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ALIAS = "smollm2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build(request: str, size: int, out: Path, data: Path, extra_env: dict[str, str], model: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_"))}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", BENCHMARK_AGENT_DATA_DIR=str(data),
               BENCHMARK_AGENT_QC="false", BENCHMARK_AGENT_DESIGN_BRIEFS="false",
               BENCHMARK_AGENT_QUALITY_SAMPLE_SIZE="0", **extra_env)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "assistant.cli", "build", request, "--size", str(size),
                          "--out", str(out), *model], env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = round(time.monotonic() - started, 1)
    report_path = out / "report.json"
    if not report_path.exists():
        return {"seconds": seconds, "status": "failed", "error": run.stderr.strip().splitlines()[-1:]}
    report = json.loads(report_path.read_text())
    return {"seconds": seconds, "status": report["status"], "accepted": report["accepted"],
            "requests": sum(u["requests"] for u in report["usage"].values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--request", default="yes/no questions about colours")
    parser.add_argument("--size", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from assistant.embedded_model import packaged_gguf_path

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        in_process = _build(args.request, args.size, work / "in-process", work / "data-a", {}, [])
        port = _free_port()
        started = time.monotonic()
        log = (work / "server.log").open("w")
        server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_gguf_path()),
                                   "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port),
                                   "--n_ctx", "4096"], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/models", timeout=2).read()
                    break
                except OSError:
                    if server.poll() is not None:
                        raise SystemExit(f"llama_cpp.server did not start: {(work / 'server.log').read_text()[-1500:]}") from None
                    time.sleep(0.2)
            startup = round(time.monotonic() - started, 1)
            data = work / "data-b"
            served = _build(args.request, args.size, work / "server", data, {"OPENAI_BASE_URL": url},
                            ["--model", f"openai:{ALIAS}"])
            modes = json.loads((data / "endpoints.json").read_text()) if (data / "endpoints.json").exists() else {}
        finally:
            server.terminate()
            server.wait(timeout=20)
            log.close()
    print(json.dumps({"request": args.request, "size": args.size, "in_process": in_process,
                      "server": {**served, "startup_seconds": startup, "output_modes": modes}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
