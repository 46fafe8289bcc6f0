"""CPU rehearsal of launch/gpu_check.sh, so that the GPU check cannot rot between lent GPU nodes:
the package folder resolves and downloads (launch/fetch_gpu_packages.sh, idempotent, kept in
DTRAIN_GPU_PACKAGES or gpu-packages/ of the checkout), unpacks into a prefix whose every library
resolves inside it, CMake configures against that prefix alone, a torch-free part builds and runs at
2 ranks under the prefix's mpirun, the benchmark stages run on a tiny model, and the report has every
stage within its budget. Also: a package folder missing a file fails the unpack stage with a clear
line, and the stages that need it are reported as skipped.
Environment from CTest: DTRAIN_BINARY, DTRAIN_SOURCE_DIR, DTRAIN_PYTHON, DTRAIN_GPU_CHECK_WORK,
DTRAIN_CCACHE (the build's compiler launcher, for the rehearsal's build); CI=true turns a missing
package registry from a skip into a failure.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

source = pathlib.Path(os.environ["DTRAIN_SOURCE_DIR"])
binary = pathlib.Path(os.environ["DTRAIN_BINARY"])
python = os.environ["DTRAIN_PYTHON"]
packages = pathlib.Path(os.environ.get("DTRAIN_GPU_PACKAGES", source / "gpu-packages"))
# The prefix and its build stay at one path between runs, so that ccache (DTRAIN_CCACHE) serves a
# rerun; everything else is scratch.
work = pathlib.Path(os.environ["DTRAIN_GPU_CHECK_WORK"])
SKIP = 77


def check(condition, message):
    if not condition:
        sys.exit(f"FAIL: {message}")


def report_rows(report):
    """The stage table of gpu_check.md: {stage: (result, seconds, budget, detail)}."""
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("stage", "---", "total") and not cells[0].startswith("-"):
            rows[cells[0]] = tuple(cells[1:])
    return rows


if shutil.which("apt-get") is None:
    message = "apt-get not found: the package folder is made on Debian 12"
    if os.environ.get("CI") == "true":
        sys.exit(f"FAIL: {message} (CI=true)")
    print(f"{message}; skipped")
    sys.exit(SKIP)
fetched = subprocess.run(["bash", source / "launch/fetch_gpu_packages.sh", packages], capture_output=True, text=True)
check(fetched.returncode == 0, f"fetch_gpu_packages.sh failed:\n{fetched.stdout}\n{fetched.stderr}")
print(fetched.stdout.strip().splitlines()[-1])
size = sum(f.stat().st_size for f in packages.glob("*.deb"))
check(size < 48 << 20, f"the package folder is {size >> 20} MiB: too large to travel with the working tree")

with tempfile.TemporaryDirectory(prefix="dtrain-gpu-check-") as tmp:
    root = pathlib.Path(tmp)
    command = ["bash", source / "launch/gpu_check.sh", "--rehearsal", "--dtrain", binary, "--python", python,
               "--packages", packages, "--work", work, "--output", root / "out", "--steps", "8"]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    log = (root / "out/gpu_check.log").read_text() if (root / "out/gpu_check.log").exists() else ""
    check(result.returncode == 0, f"gpu_check.sh --rehearsal failed:\n{result.stdout}\n{result.stderr}\n{log}")
    report = (root / "out/gpu_check.md").read_text()
    rows = report_rows(report)
    expected = ["unpack", "libraries", "configure", "build", "smoke", "cuda-tests", "bench-dtrain", "bench-trainer"]
    check(list(rows) == expected, f"stages {list(rows)} in\n{report}")
    for stage, (outcome, seconds, budget, detail) in rows.items():
        if stage == "cuda-tests":
            check(outcome == "skipped" and detail == "CPU rehearsal", f"{stage}: {rows[stage]}")
            continue
        check(outcome == "ok", f"{stage}: {rows[stage]}\n{log}")
        check(0 <= int(seconds) <= int(budget), f"{stage} took {seconds} s of its {budget} s budget")
    check("every dependency from the prefix" in rows["configure"][3], f"configure: {rows['configure'][3]}")
    check(re.search(r"^bench_loader at 2 ranks", rows["smoke"][3]) is not None, f"smoke: {rows['smoke'][3]}")
    throughput = re.search(r"^\| BERT \(sequence classification\) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$",
                           report, re.MULTILINE)
    check(throughput is not None, f"no throughput row in\n{report}")
    dtrain_rate, trainer_rate, ratio = map(float, throughput.groups())
    check(dtrain_rate > 0 and trainer_rate > 0, f"throughput {throughput.group(0)}")
    check(abs(ratio - dtrain_rate / trainer_rate) <= 0.01 + 0.005 * ratio, f"ratio {throughput.group(0)}")
    print(report)

    # A folder that lost one of its packages: one clear line, the dependent stages skipped, exit 1.
    partial = root / "partial"
    partial.mkdir()
    debs = sorted(packages.glob("*.deb"))
    for deb in debs[1:]:
        (partial / deb.name).symlink_to(deb)
    shutil.copy(packages / "packages.txt", partial / "packages.txt")
    result = subprocess.run(command[:command.index("--packages") + 1] + [partial, "--work", root / "work2",
                            "--output", root / "out2", "--steps", "8"], capture_output=True, text=True)
    check(result.returncode == 1, f"a partial folder gave exit {result.returncode}:\n{result.stdout}\n{result.stderr}")
    missing = debs[0].name.split("_")[0]
    log = (root / "out2/gpu_check.log").read_text()
    check(f"lacks {missing} " in log, f"the log does not name the missing {missing}:\n{log}")
    rows = report_rows((root / "out2/gpu_check.md").read_text())
    check(rows["unpack"][0] == "failed" and all(rows[s][0] == "skipped" for s in expected[1:]),
          f"after a failed unpack: {rows}")
print("gpu_check rehearsal: report complete, every stage within its budget")
