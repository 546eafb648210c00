"""One benchmark subprocess: one framework at one thread count, the chosen workloads.

Run by the runner as ``python -m lamina.bench.worker CONFIG_JSON RESULT_PATH`` with the
thread environment variables already set; writes a JSON result to RESULT_PATH. A workload
that fails is recorded with its error and the others still run.
"""

from __future__ import annotations

import json
import sys
import time
import traceback


def run(config: dict) -> dict:
    """Runs the workloads of ``config`` (framework, threads, workloads, scale, epochs)."""
    from . import frameworks
    from .workloads import WORKLOADS

    fw = frameworks.get(config["framework"])
    fw.set_threads(int(config["threads"]))
    out = {"framework": fw.name, "threads": config["threads"], "results": {}}
    try:
        out["runtime"] = fw.runtime_info()
    except Exception as exc:  # noqa: BLE001 - informational only
        out["runtime"] = {"error": repr(exc)}
    for name in config["workloads"]:
        workload = WORKLOADS[name]
        reason = fw.supports(workload)
        if reason:
            out["results"][name] = {"skipped": reason}
            continue
        t0 = time.perf_counter()
        try:
            res = workload.measure(fw, config["scale"], config.get("epochs"))
        except NotImplementedError as exc:
            res = {"skipped": str(exc)}
        except Exception:  # noqa: BLE001 - report it, keep measuring the rest
            res = {"error": traceback.format_exc(limit=6)}
        res["wall_s"] = time.perf_counter() - t0
        out["results"][name] = res
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(argv[0])
    result = run(config)
    with open(argv[1], "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
