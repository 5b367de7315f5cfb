"""Run every benchmark; results go to benchmarks/results/*.json (summarised in BENCHMARKS.md)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script in (
    "quality.py",
    "calibrate.py",
    "clarify.py",
    "edit_publish.py",
    "studio_publish.py",
    "scale.py",
    "rest_latency.py",
    "vs_rasa_init.py",
    "channel_latency.py",
    "long_message.py",
    "cluster_scale.py",
):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True, cwd=HERE)
