#!/usr/bin/env bash
# The accuracy-recovery study of issue 4 as single runs. It predates sweeps; grid 0 of
# paper/sweeps/paper.toml runs a similar study (other attacks and datasets) as one sweep.
#
#   paper/run-recovery.sh [GLOB]
#
# Runs every config in paper/configs/recovery/ matching GLOB (default: all) for each dataset
# in $DATASETS (MedMNIST flags, default "pneumoniamnist") and seed in $SEEDS (default
# "42 1 2"); with $ALPHA set, the hospitals get a Dirichlet(ALPHA) label skew instead of IID.
# Each run's config (the file with `flag`, `seed`, `name` and the partition replaced) is
# written next to its run folder, results/recovery/<flag>[-dirichlet<ALPHA>]/<config>-s<seed>/;
# finished runs are skipped, so the script resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern="${1:-*}"
cargo build --release -p securefl-cli
for flag in ${DATASETS:-pneumoniamnist}; do
  group="$flag${ALPHA:+-dirichlet$ALPHA}"
  mkdir -p "results/recovery/$group"
  for cfg in paper/configs/recovery/$pattern.toml; do
    base="$(basename "$cfg" .toml)"
    for seed in ${SEEDS:-42 1 2}; do
      out="results/recovery/$group/$base-s$seed"
      [[ -f "$out/manifest.toml" ]] && continue
      partition='kind = "iid"'
      [[ -n "${ALPHA:-}" ]] && partition="kind = \"dirichlet\"\nalpha = $ALPHA"
      sed -e "s/^seed = .*/seed = $seed/" \
          -e "s/^flag = .*/flag = \"$flag\"/" \
          -e "s/^name = \"\(.*\)\"/name = \"\1-$group-s$seed\"/" \
          -e "s/^kind = \"iid\"/$partition/" \
          "$cfg" >"$out.toml"
      ./target/release/securefl run "$out.toml" --out "$out"
    done
  done
done
