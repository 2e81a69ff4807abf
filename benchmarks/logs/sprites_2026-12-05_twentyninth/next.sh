#!/usr/bin/env bash
# Planned calls (twenty-ninth session wrote them; its device time ran out), one H200 each:
#   CALL=sink bash benchmarks/logs/sprites_2026-12-05_twentyninth/next.sh   # ~200 s
#   CALL=sinkparts bash benchmarks/logs/sprites_2026-12-05_twentyninth/next.sh  # ~300 s
# sink: at 30 s with M2, no-sinking beat the full method on text alignment (+3.6 ± 3.3) and subject
#   consistency (+6.5 ± 7.4) over 32 videos (R30). This doubles the videos of Stream-T1, no-sinking and
#   plain generation (prompts 8-15 x seeds 0-3, 480 frames), resumed from R30/results.json (the same
#   settings fingerprints: --num-prompts is not part of them). The table is remade on the CPU:
#   tar xzf x.tgz, merge the 12 results.json into R30's as R.sh's python does, then
#   `streamt1 evaluate --merge ... --num-prompts 16`. No rule: it reports, changes no default.
# C1 (the control W1 lacked) moved to benchmarks/logs/sprites_2026-12-05_thirtieth/RO.sh, beside RO1.
# sinkparts: which part of memory sinking costs at 30 s. In six CPU traces of Stream-T1 at 30 s (eval
#   prompts 0-5, seed 0; sink30_routes.txt) the sink reaches its 6-frame cap after two appends and then
#   EMA-blends the leaving chunk into it 118-239 times (ema_decay 0.999: a tenth to a fifth of the sink
#   is later content by the end); on those six videos every variant below is within noise. Stream-T1 with search.ema_decay=1.0 (the EMA route leaves the sink as it
#   is) and with search.max_sink_frames=3 (no room to append: the first chunk plus EMA), prompts 0-7 x
#   seeds 0-3, 480 frames, each paired with R30's stream-t1 and no-sinking videos (same device kind):
#   python benchmarks/sprites_weights_paired.py st1=R30:stream-t1 noema=OUT/noema:stream-t1 \
#     sink3=OUT/sink3:stream-t1 nosink=R30:stream-t1-no-sinking   (after tar xzf of the call's archive)
set -uo pipefail
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
case ${CALL:?CALL must be sink or sinkparts} in
  sink)
    W=src/streamt1/sprites/weights
    rm -rf runs/x && mkdir -p runs/M2 && cp $W/sprites_model.* $W/image_reward.* $W/video_reward.* runs/M2/
    for m in stream-t1 stream-t1-no-sinking none; do
      for s in 0 1 2 3; do
        mkdir -p runs/x/$m-$s && cp benchmarks/logs/sprites_2026-12-05_twentyninth/R30/results.json runs/x/$m-$s/
        timeout ${LIMIT:-300} python3 -m streamt1 evaluate --methods $m --seeds $s --num-prompts 16 --num-frames 480 \
          --no-videos --device cuda --weights runs/M2 --out runs/x/$m-$s > runs/x/$m-$s.log 2>&1 &
      done
    done
    wait
    tar czf $OUT/x.tgz runs/x/*/results.json runs/x/*.log
    tail -n 2 runs/x/*.log | cut -c1-200 ;;
  sinkparts)
    W=src/streamt1/sprites/weights
    rm -rf runs/sp && mkdir -p runs/sp runs/M2 && cp $W/sprites_model.* $W/image_reward.* $W/video_reward.* runs/M2/
    for part in noema:search.ema_decay=1.0 sink3:search.max_sink_frames=3; do
      for s in 0 1 2 3; do
        timeout ${LIMIT:-300} python3 -m streamt1 evaluate --methods stream-t1 --set ${part#*:} --seeds $s \
          --num-prompts 8 --num-frames 480 --no-videos --device cuda --weights runs/M2 \
          --out runs/sp/${part%%:*}-$s > runs/sp/${part%%:*}-$s.log 2>&1 &
      done
    done
    wait
    for name in noema sink3; do python3 -m streamt1 evaluate --merge runs/sp/$name-? --out runs/sp/$name; done
    tar czf $OUT/sinkparts.tgz runs/sp/noema/results.json runs/sp/sink3/results.json runs/sp/*.log ;;
  *) echo "CALL must be sink or sinkparts" >&2; exit 2 ;;
esac
