#!/usr/bin/env bash
# Call SGR's paired tables (run from the repository root): the archives unpacked to a temporary folder, then
# benchmarks/sprites_weights_paired.py over the 128 videos of each method and setting.
set -euo pipefail
here=benchmarks/logs/sprites_2026-12-07_fiftysixth/SGR
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
for rep in base B; do tar xzf $here/sgr-$rep.tgz -C $tmp; done
runs() { echo $tmp/runs/sgr-$1/$2-{0,1,2,3} | tr ' ' ,; }
echo "# plain with B, Stream-T1 with the committed settings, minus plain with the committed settings"
python benchmarks/sprites_weights_paired.py --also imaging_quality "plain=$(runs base none):none" \
  "plainB=$(runs B none):none" "st1=$(runs base stream-t1):stream-t1"
echo "# Stream-T1 with B, and with the committed settings, minus plain with B"
python benchmarks/sprites_weights_paired.py "plainB=$(runs B none):none" "st1B=$(runs B stream-t1):stream-t1" \
  "st1=$(runs base stream-t1):stream-t1"
echo "# Stream-T1 with B minus Stream-T1 with the committed settings"
python benchmarks/sprites_weights_paired.py "st1=$(runs base stream-t1):stream-t1" "st1B=$(runs B stream-t1):stream-t1"
