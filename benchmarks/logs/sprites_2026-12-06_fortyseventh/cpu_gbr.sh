#!/usr/bin/env bash
# CALL=GBR's rule judged on this 2-core CPU (forty-seventh session: the device could not be started in five
# tries). The reported split at 5 s (prompts 0-31 x seeds 0-3, 81 latent frames), `run.dtype: auto` (bf16 on
# this CPU), one thread per process:
#   STAGE=plain  SP50's plain generation and SP50gb's (guidance on every chunk in the noise band 0.6-0.85), side
#                by side (about 22 min);
#   STAGE=st1    Stream-T1 with SP50gb, two processes of two seeds each, then merged (evaluate --merge).
# Outputs in runs/cpuGBR/ (copy the results.json files into this folder's cpu/ after).
set -euo pipefail
export OMP_NUM_THREADS=1
O=runs/cpuGBR; mkdir -p $O
common=(--num-prompts 32 --num-frames 81 --no-videos --device cpu)
gb=(--set run.guided_chunks=0 --set "run.guidance_sigmas=[0.6,0.85]")
case ${STAGE:?plain or st1} in
  plain) streamt1 evaluate --methods none --seeds 0,1,2,3 "${common[@]}" --out $O/SP50 > $O/SP50.log 2>&1 &
         streamt1 evaluate --methods none --seeds 0,1,2,3 "${common[@]}" "${gb[@]}" --out $O/SP50gb > $O/SP50gb.log 2>&1 &
         wait ;;
  st1) streamt1 evaluate --methods stream-t1 --seeds 0,1 "${common[@]}" "${gb[@]}" --out $O/st1gb-01 > $O/st1gb-01.log 2>&1 &
       streamt1 evaluate --methods stream-t1 --seeds 2,3 "${common[@]}" "${gb[@]}" --out $O/st1gb-23 > $O/st1gb-23.log 2>&1 &
       wait
       streamt1 evaluate --merge $O/SP50gb $O/st1gb-01 $O/st1gb-23 --out $O/gb_all ;;
esac
