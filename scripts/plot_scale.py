#!/usr/bin/env python3
"""Plots the scale benchmark's figures (reports/scale.json, written by
benches/scale.rs) to a PNG.

    scripts/plot_scale.py [reports/scale.json] [reports/scale.png]

matplotlib comes from its own venv, .tools/plot-venv, made on first use, so
neither the emulators' venv nor the system Python is touched.
"""

import json
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".tools", "plot-venv")
PYTHON = os.path.join(VENV, "bin", "python")
COMMANDS = ("apply", "plan", "destroy")


def ensure_matplotlib():
    """Re-runs this script under the plot venv, creating it when missing."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    ready = os.path.exists(PYTHON) and subprocess.run([PYTHON, "-c", "import matplotlib"], capture_output=True).returncode == 0
    if not ready:
        print(f"plot_scale: installing matplotlib into {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.run(
            [PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "matplotlib"], check=True
        )
    os.execv(PYTHON, [PYTHON, os.path.abspath(__file__), *sys.argv[1:]])


def plot(report, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = report["sizes"]
    ns = [s["resources"] for s in sizes]

    def series(command, key, scale=1.0, per_resource=False):
        return [s["commands"][command][key] * scale / (s["resources"] if per_resource else 1) for s in sizes]

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    ax = axes[0][0]
    for c in COMMANDS:
        ax.plot(ns, series(c, "wall_s"), marker="o", label=c)
    ax.set(title="Wall time", xlabel="N (resources)", ylabel="seconds", xscale="log", yscale="log")
    ax.legend()

    ax = axes[0][1]
    for c, style in zip(COMMANDS, ("-", "--", ":")):
        ax.plot(ns, series(c, "terraform_cpu_s"), style, marker="o", color="tab:blue", label=f"Terraform, {c}")
        ax.plot(ns, series(c, "provider_cpu_s"), style, marker="s", color="tab:orange", label=f"provider, {c}")
    ax.set(title="CPU time (user + sys)", xlabel="N (resources)", ylabel="seconds", xscale="log", yscale="log")
    ax.legend(fontsize="small")

    ax = axes[1][0]
    for c in COMMANDS:
        ax.plot(ns, series(c, "provider_cpu_s", 1e3, per_resource=True), marker="o", label=f"provider CPU, {c}")
    ax.set(title="Provider CPU per resource", xlabel="N (resources)", ylabel="ms per resource", xscale="log")
    ax.set_ylim(bottom=0)
    ax2 = ax.twinx()
    ax2.plot(
        ns,
        [max(s["commands"][c]["provider_peak_rss_mib"] for c in COMMANDS) for s in sizes],
        "k--",
        marker="^",
        label="provider peak RSS",
    )
    ax2.set_ylabel("peak RSS, MiB")
    ax2.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize="small")

    ax = axes[1][1]
    for c in COMMANDS:
        ax.plot(ns, series(c, "aws_calls", per_resource=True), marker="o", label=f"AWS, {c}")
        ax.plot(ns, series(c, "snowflake_calls", per_resource=True), "--", marker="s", label=f"Snowflake, {c}")
    ax.set(title="Calls per resource (emulators' logs)", xlabel="N (resources)", ylabel="calls per resource", xscale="log")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")

    fig.suptitle(f"terraform-provider-privatelink at scale (Terraform {report.get('terraform_version', '?')})")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"plot_scale: wrote {out}")


def main(argv):
    src = argv[1] if len(argv) > 1 else os.path.join(ROOT, "reports", "scale.json")
    out = argv[2] if len(argv) > 2 else os.path.join(os.path.dirname(src), "scale.png")
    ensure_matplotlib()
    with open(src) as fh:
        plot(json.load(fh), out)


if __name__ == "__main__":
    main(sys.argv)
