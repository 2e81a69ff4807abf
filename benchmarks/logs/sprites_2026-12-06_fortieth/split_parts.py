"""Split a merged `streamt1 evaluate` folder back into one results.json per method and seed, so that
presets.sh (RESUME=FOLDER) continues each part from its finished videos (CPU, seconds):

    python benchmarks/logs/sprites_2026-12-06_fortieth/split_parts.py MERGED_FOLDER OUT_FOLDER
"""
import json
import sys
from pathlib import Path

merged = json.loads((Path(sys.argv[1]) / "results.json").read_text())
out = Path(sys.argv[2])
for method, videos in merged["videos"].items():
    if method == "world":
        continue
    for seed in sorted({int(name.rsplit("-", 1)[1]) for name in videos}):
        part = {key: ({m: v for m, v in merged[key].items() if m in (method, "world")}
                      if isinstance(merged[key], dict) else merged[key]) for key in merged}
        part["videos"] = {"world": merged["videos"]["world"],
                          method: {n: v for n, v in videos.items() if n.endswith(f"-{seed}")}}
        part["unsaved"] = {method: [n for n in merged.get("unsaved", {}).get(method, []) if n.endswith(f"-{seed}")]}
        folder = out / f"{method}-{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(part))
        print(folder, len(part["videos"][method]))
