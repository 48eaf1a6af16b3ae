#!/usr/bin/env python3
"""SLA figures at fleet scale (issue 18): `monitord sla compute` for 1,000 services, per policy kind.

Generates the seeded workload of tests/unit/sla/fleet.py (1,000 services,
about two outages per service and month over 13 months, fleet-wide restarts,
recurring and one-off maintenance), one config per policy kind (every
service under that policy), and runs, each as its own process so wall time
and peak RSS are the whole command's:

  bulk summary   monitord sla compute ... --summary   (figures, months; no interval lists)
  bulk full      monitord sla compute ...             (every interval and timeline band)
  single loop    the single-service path (`engine.compute`) called per service
                 with per-service filtering, figures only: what sharing buys
  reference      the straightforward sweep this replaced (`engine.compute_reference`,
                 the engine before issue 18) per service, full output: the ratio
  floor          what no engine can go below, for the full output: start-up
                 (imports, the config's SLA sections, the intervals file: the
                 CLI's own steps, in a process of its own) plus json's C encoder
                 writing the bulk full output's objects, already built, as
                 `write_json` does. With the floor over 1 s, only less output can
                 meet issue 18's 1 s, not a faster engine.

All four compute the same figures (tests/unit/sla/test_fleet_equivalence.py).
Two maintenance shapes: `issue` (weekend window for all, a monthly window for
a third, 10 one-off windows) and `heavy` (plus Mon-Fri evening windows for a
third and 60 one-off windows). Bounded: one run of each, nothing left behind.

    python bench/sla_report.py [--services 1000] [--shape issue|heavy|both] [--no-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.unit.sla.fleet import KINDS, LAST_MONTH, NOW, fleet  # noqa: E402

SHAPES = {"issue": {"evenings": False, "one_offs": 10}, "heavy": {"evenings": True, "one_offs": 60}}


def run(cmd: list[str], out: Path) -> tuple[float, float, float, int, int]:
    """Wall seconds, CPU seconds, peak RSS MB, exit code and output bytes of one process."""
    with out.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"    ! {' '.join(cmd[:4])} ... exited {code}: {err.strip()[-400:]}", file=sys.stderr)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, code, out.stat().st_size


def start_up(config: str, intervals: str) -> None:
    """The CLI's steps before any figure: imports, SLA sections, intervals (run as a child)."""
    from monitord.sla import render  # noqa: F401  (imported by every `sla compute`)
    from monitord.sla.inputs import read
    from monitord.sla.offline import plan  # noqa: F401
    from monitord.sla.sections import load_sla_sections

    sections = load_sla_sections(config)
    priorities = {s.name: s.default_priority for s in sections.services}
    read(intervals, default_priority=lambda svc: priorities.get(svc, "P1"))


def encode_seconds(path: Path) -> float:
    """json's C encoder over a bulk output's reports, already built: the least time writing
    that output can take. The best of three, each report as `write_json` encodes it."""
    import gc

    with path.open(encoding="utf-8") as f:
        reports = json.load(f)
    gc.collect()
    gc.freeze()  # the loaded objects are not what is measured: no collection walks them
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for r in reports:
            json.dumps(r, ensure_ascii=False)
        best = min(best, time.perf_counter() - t0)
    del reports
    gc.unfreeze()
    return best


def loop(kind: str, config: str, intervals: str, mode: str) -> None:
    """The per-service loops (run in a child process by main)."""
    if mode == "start-up":
        start_up(config, intervals)
        return
    if mode == "encode":  # `intervals` is a bulk full output here
        print(f"{encode_seconds(Path(intervals)):.6f}")
        return
    from monitord.cli.sla import read_intervals
    from monitord.config import load_config
    from monitord.sla.engine import SlaSetup, compute, compute_reference, period_for
    from monitord.sla.render import report_to_dict

    cfg = load_config(config)
    setup = SlaSetup(
        {p.name: p for p in cfg.sla_policies}, {c.name: c for c in cfg.calendars}, cfg.maintenance
    )
    downs, gaps = read_intervals(intervals)
    policy = setup.policy(kind)
    period = period_for(policy, LAST_MONTH)
    now = datetime.fromisoformat(NOW)
    engine = compute_reference if mode == "reference" else compute
    summary = mode != "reference"
    out = []
    for svc in cfg.services:
        report = engine(
            setup, service=svc.name, policy=policy, period=period, now=now,
            downtimes=[d for s, d in downs if s == svc.name],
            gaps=[g for s, g in gaps if s in (None, svc.name)],
        )
        out.append(report_to_dict(report, summary=summary))
    sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--shape", choices=[*SHAPES, "both"], default="both")
    ap.add_argument("--no-reference", action="store_true", help="skip the slow reference runs")
    ap.add_argument("--loop", nargs=4, metavar=("KIND", "CONFIG", "INTERVALS", "MODE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.loop:
        loop(*args.loop)
        return
    import yaml

    py = sys.executable
    # An installed monitord runs from byte-code caches; with PYTHONDONTWRITEBYTECODE set
    # (as in some shells and CI) every run would compile its sources first, which is no
    # part of the command's cost. Cache them once (the __pycache__ folders git ignores).
    import compileall

    for package in ("monitord", "probes"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
    shapes = list(SHAPES) if args.shape == "both" else [args.shape]
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp:
        d = Path(tmp)
        for shape in shapes:
            base = fleet(args.services, **SHAPES[shape])  # type: ignore[arg-type]
            ivs = d / f"{shape}.json"
            ivs.write_text(json.dumps(base.intervals), encoding="utf-8")
            downs = sum(1 for i in base.intervals if i.get("kind", "downtime") == "downtime")
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(
                f"sla_report [{shape}]: load {load:.2f} on {os.cpu_count()} cores;"
                f" {args.services} services, {downs} downtime intervals"
                f" over 13 months, period {LAST_MONTH}, {len(base.config['maintenance']['windows'])}"
                f" one-off + {len(base.config['maintenance']['recurring'])} recurring windows;"
                f" machine shared, one run each"
            )
            print(f"  {'policy':<9} {'run':<14} {'wall s':>7} {'cpu s':>6} {'peak MB':>8}"
                  f" {'output':>9}  ratio (wall)")
            for kind in KINDS:
                cfg = d / f"{shape}-{kind}.yaml"
                cfg.write_text(
                    yaml.safe_dump(fleet(args.services, policy=kind, **SHAPES[shape]).config),  # type: ignore[arg-type]
                    encoding="utf-8",
                )
                common = ["--config", str(cfg), "--period", LAST_MONTH, "--intervals", str(ivs),
                          "--now", NOW]
                runs = {
                    "bulk summary": [py, "-m", "monitord", "sla", "compute", *common, "--summary"],
                    "bulk full": [py, "-m", "monitord", "sla", "compute", *common],
                    "single loop": [py, __file__, "--loop", kind, str(cfg), str(ivs), "single"],
                }
                if not args.no_reference:
                    runs["reference"] = [py, __file__, "--loop", kind, str(cfg), str(ivs),
                                         "reference"]
                results = {}
                for name, cmd in runs.items():
                    results[name] = run(cmd, d / "out.json")
                    if name == "bulk full":  # in a child: 74 MB loaded would raise the
                        # RSS high-water mark every later child inherits from this process
                        encoded = float(subprocess.run(
                            [py, __file__, "--loop", kind, str(cfg), str(d / "out.json"),
                             "encode"], capture_output=True, check=True, text=True).stdout)
                results["start-up"] = run(
                    [py, __file__, "--loop", kind, str(cfg), str(ivs), "start-up"], d / "out.json")
                ref = results.get("reference", results["single loop"])[0]
                for name, (wall, cpu, rss, code, size) in results.items():
                    ok = "" if code == 0 else f"  EXIT {code}"
                    print(f"  {kind:<9} {name:<14} {wall:7.2f} {cpu:6.2f} {rss:8.0f}"
                          f" {size / 1e6:8.1f}M  {ref / wall:5.1f}x{ok}")
                up = results["start-up"][0]
                print(f"  {kind:<9} {'floor (full)':<14} {up + encoded:7.2f}"
                      f"   = start-up {up:.2f} + encoding the full output alone {encoded:.2f}")


if __name__ == "__main__":
    main()
