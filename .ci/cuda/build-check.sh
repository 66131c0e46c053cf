#!/usr/bin/env bash
# Build check of the dfdx backend's `cuda` feature on a machine without a GPU or NVIDIA driver:
# compiles and links `securefl` with `--features cuda`, and checks that every shared library the
# binary needs resolves. It does not run anything on a GPU. CI does not run this script.
# Recipe: ../shared/docs/cnn-backends.md, "CUDA" / "dfdx `cuda`"; see plugins/backend-dfdx/README.md.
#
# Steps (all outside the repository, under $CUDA_SCRATCH, default /work/cuda-scratch):
#   1. a Python venv with PyPI's CUDA 13.5 wheels; their nvidia/cu13/{bin,include,lib,nvvm} tree
#      serves as CUDA_ROOT (nvcc for dfdx's 49 .cu kernels, cuda.h, nvrtc, cublas);
#   2. unversioned lib*.so symlinks for the wheels' lib*.so.13, for the linker;
#   3. a fake `nvidia-smi` that prints `compute_cap` / `9.0` (dfdx's build script calls it before
#      it reads CUDA_COMPUTE_CAP);
#   4. a libcuda.so link stub (soname libcuda.so.1) from cudarc's driver bindings
#      (.ci/cuda/make-libcuda-stub.sh);
#   5. cargo build --release -p securefl-cli --no-default-features --features cuda, into
#      $CARGO_TARGET_DIR (default /work/target-cuda), then `ldd` on the binary.
# Needs network access to PyPI and crates.io on the first run. Usage: bash .ci/cuda/build-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
scratch=${CUDA_SCRATCH:-/work/cuda-scratch}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-cuda}
# The versions this was checked with (CUDA 13.5; nvcc targets sm_75 to sm_121).
wheels=(nvidia-cuda-nvcc==13.5.37 nvidia-cuda-runtime==13.5.37 nvidia-cuda-nvrtc==13.5.37
    nvidia-cublas==13.10.0.20 nvidia-cuda-cccl==13.3.5.0.6)
mkdir -p "$scratch"
start=$SECONDS

# 1. The CUDA 13.5 toolkit from PyPI.
venv=$scratch/venv
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cu13=$site/nvidia/cu13
if [[ ! -x $cu13/bin/nvcc || ! -f $cu13/include/cuda.h || ! -f $cu13/include/nv/target ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${wheels[@]}"
fi
"$venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -E '^nvidia-' || true

# 2. Unversioned symlinks: the wheels ship only lib*.so.13 (and similar), the linker wants lib*.so.
for lib in "$cu13"/lib/lib*.so.*; do
    base=$(basename "$lib")
    plain=${base%%.so.*}.so
    [[ -e $cu13/lib/$plain ]] || ln -s "$base" "$cu13/lib/$plain"
done
for need in nvrtc cublas cublasLt; do
    if [[ ! -e $cu13/lib/lib$need.so ]]; then
        echo "build-check: $cu13/lib/lib$need.so missing after the wheel install" >&2
        exit 1
    fi
done

# 3. The nvidia-smi shim.
shims=$scratch/shims
mkdir -p "$shims"
printf '#!/bin/sh\n# Fake nvidia-smi for GPU-less builds of dfdx (cuda): answers only --query-gpu=compute_cap.\necho compute_cap\necho 9.0\n' \
    >"$shims/nvidia-smi"
chmod +x "$shims/nvidia-smi"

# 4. The libcuda.so stub, from the bindings of the cudarc that dfdx uses (cargo metadata also
#    downloads the crate if it is missing).
cudarc=$(cargo metadata --format-version 1 --features securefl-cli/cuda | "$venv/bin/python" -c '
import json, os, sys
m = json.load(sys.stdin)
pkgs = {p["id"]: p for p in m["packages"]}
for node in m["resolve"]["nodes"]:
    if pkgs[node["id"]]["name"] == "dfdx":
        for dep in node["deps"]:
            if dep["name"] == "cudarc":
                print(os.path.dirname(pkgs[dep["pkg"]]["manifest_path"]))
')
if [[ -z $cudarc ]]; then
    echo "build-check: cannot find the cudarc crate that dfdx depends on" >&2
    exit 1
fi
echo "build-check: cudarc sources: $cudarc"
stub=$scratch/stub
bash "$repo/.ci/cuda/make-libcuda-stub.sh" "$stub" "$cudarc"

# 5. The build. LIBRARY_PATH is for the linker only; the stub never goes on LD_LIBRARY_PATH for
#    running, so that a real driver's libcuda.so.1 is used wherever there is one.
export CUDA_ROOT=$cu13
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export PATH=$shims:$cu13/bin:$PATH
export LIBRARY_PATH=$stub:$cu13/lib${LIBRARY_PATH:+:$LIBRARY_PATH}
export LD_LIBRARY_PATH=$cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "build-check: nvcc $(nvcc --version | grep -o 'release [0-9.]*'), CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP, CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
build_start=$SECONDS
cargo build --release -p securefl-cli --no-default-features --features cuda
echo "build-check: cargo build took $((SECONDS - build_start)) s"

# The link check: with the stub standing in for the driver, every needed library must resolve.
bin=$CARGO_TARGET_DIR/release/securefl
ldd_out=$(LD_LIBRARY_PATH=$cu13/lib:$stub ldd "$bin")
echo "$ldd_out"
if grep -q 'not found' <<<"$ldd_out"; then
    echo "build-check: unresolved libraries" >&2
    exit 1
fi
for need in libcuda.so.1 libnvrtc.so libcublas.so libcublasLt.so; do
    if ! grep -q "$need" <<<"$ldd_out"; then
        echo "build-check: $bin does not link $need" >&2
        exit 1
    fi
done
echo "build-check: OK, $bin built and linked in $((SECONDS - start)) s"
echo "build-check: to run it: LD_LIBRARY_PATH=$cu13/lib (plus the real driver's libcuda.so.1)"
