#!/usr/bin/env bash
# Planned device call for the next session (written in the fortieth session, before any run): the rest of issue 9's
# list of search settings to investigate with the track reward, on the tuning split, by the rule of calls.sh
# (a setting becomes the Stream-T1 default if it raises subject consistency or text alignment beyond noise and
# lowers no ground-truth metric beyond noise by more than 0.5 points), paired with paired_variants.py:
#   CALL=NEXT bash benchmarks/logs/sprites_2026-12-06_fortieth/next.sh     (~330 s on an H100)
#   python benchmarks/logs/sprites_2026-12-06_fortieth/paired_variants.py FOLDER L5 L20 Z S5F16
#   L5, L20  search.long_window_chunks=5 / 20   the video reward's window (10 chunks = 30 latent frames by default)
#   Z        search.fusion=zscore               the short and long scores standardised within each chunk's pool
#                                               before the alpha mix (the track reward's two parts differ in spread)
#   S5F16    noise_fusion_sigma=0.5 with 16 first chunks: the two settings that each drew more shapes (+4.0) in
#            the fortieth session's screen, together (S5 lost motion, -7.5 +- 6.1; the rule decides)
set -uo pipefail
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
OUTDIR=${OUT:-runs/out}; mkdir -p "$OUTDIR"
screen() {  # screen LABEL SETTING...: Stream-T1 with the settings on the tuning split, in halves
  local label=$1; shift
  local sets=(); for kv in "$@"; do sets+=(--set "$kv"); done
  mkdir -p runs/T41
  for seed in 5 6 7; do for half in 32 48; do
    timeout ${LIMIT:-540} python3 benchmarks/sprites_tuning.py --method stream-t1 --label $label-$half-s$seed \
      --out runs/T41 --offset $half --num-prompts 16 --num-frames 81 --seed $seed "${sets[@]}" \
      > runs/T41/$label-$half-s$seed.log 2>&1 &
  done; done
  wait
}
case ${CALL:?CALL=NEXT} in
  NEXT) nvidia-smi --query-gpu=name --format=csv,noheader
        screen L5 search.long_window_chunks=5 &
        screen L20 search.long_window_chunks=20 &
        screen Z search.fusion=zscore &
        screen S5F16 search.noise_fusion_sigma=0.5 search.first_chunk_candidates=16 &
        wait
        tar czf "$OUTDIR/T41.tgz" runs/T41/*.json runs/T41/*.log
        tail -qn 3 runs/T41/*.log | grep "s {" ;;
  *) echo "CALL=$CALL: expected NEXT" >&2; exit 2 ;;
esac
