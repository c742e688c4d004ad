"""Run the reproduce CLI and report this process's peak resident memory.

Used by bench_infer.py: it reads VmHWM from /proc/self/status (Linux), which,
unlike getrusage's ru_maxrss, is not inherited from the parent that forked
this process before exec.

    python benchmarks/peak_memory.py upscale IMAGE --scale 30 --checkpoint C -o OUT
"""
import sys

from reproduce.cli import main

if __name__ == "__main__":
    code = main(sys.argv[1:])
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(f"peak_rss_kb {peak_kb}", file=sys.stderr)
    sys.exit(code)
