#!/usr/bin/env bash
# Regenerates the man pages in man/ from the commands' clap definitions
# (the same ones --help prints), with the hidden `rlvm --generate-man DIR`.
# Run it after changing a command's options; tests/man.rs fails until then.
#   scripts/gen-man.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --bin rlvm
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
rm -f man/*.8
"$target_dir/debug/rlvm" --generate-man man
echo "man pages written to man/: $(ls man | wc -l) files"
