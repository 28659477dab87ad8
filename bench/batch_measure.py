"""Runs one client of bench/batch.sh and prints a markdown table row:
wall time, the client's CPU (user+sys, its children included) from
wait4(), its peak RSS, and the CPU time the Dovecot processes spent
meanwhile (master, its live descendants, and the children it reaped),
which with the core count gives the floor no client can beat.

Peak RSS comes from GNU time (/usr/bin/time -f %M) wrapped around the
client: wait4()'s ru_maxrss of a child Python forks would include the
forked Python's own pages (about 13 MB) from before the exec.

usage: batch_measure.py LABEL LOGINS DOVECOT_PID [REPEAT] -- COMMAND [ARGS...]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def dovecot_cpu(master):
    """Seconds of CPU of the Dovecot master and everything under it."""
    stats = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        # comm may contain spaces: fields start after the last ')'.
        fields = raw[raw.rfind(")") + 2:].split()
        ppid = int(fields[1])
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        stats[int(pid)] = (ppid, utime + stime + cutime + cstime)
    total, todo = 0, [master]
    while todo:
        p = todo.pop()
        if p in stats:
            total += stats[p][1]
            todo.extend(c for c, (pp, _) in stats.items() if pp == p)
    return total / TICK


def run_once(cmd, master):
    """(wall s, client CPU s, peak RSS MB, Dovecot CPU s, exit code)."""
    gnu_time = shutil.which("time", path="/usr/bin")
    rss_file = tempfile.NamedTemporaryFile(prefix="rss-", delete=False).name
    if gnu_time:
        cmd = [gnu_time, "-f", "%M", "-o", rss_file] + cmd
    before = dovecot_cpu(master)
    start = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    peak_mb = usage.ru_maxrss / 1024
    if gnu_time:
        with open(rss_file) as f:
            peak_mb = int(f.read().split()[-1]) / 1024
    os.unlink(rss_file)
    time.sleep(0.3)  # let Dovecot reap its last login processes
    server = dovecot_cpu(master) - before
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, peak_mb, server, os.waitstatus_to_exitcode(status)


def main():
    """usage: batch_measure.py LABEL LOGINS DOVECOT_PID [REPEAT] -- COMMAND...

    With REPEAT > 1 the command runs that many times and every column is
    that column's median (the exit code is the worst)."""
    dash = sys.argv.index("--")
    label, logins, master = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    repeat = int(sys.argv[4]) if dash > 4 else 1
    cmd = sys.argv[dash + 1:]
    runs = [run_once(cmd, master) for _ in range(repeat)]
    wall, cpu, peak_mb, server = (statistics.median(r[i] for r in runs) for i in range(4))
    code = max(r[4] for r in runs)
    cores = os.cpu_count() or 1
    floor = server / cores
    print(
        f"| {label} | {wall:.2f} | {cpu:.2f} | {cpu / logins * 1000:.2f} | "
        f"{peak_mb:.1f} | {server:.2f} ({server / logins * 1000:.1f} ms/login) | "
        f"{floor:.2f} | {wall / floor:.2f}x | {code} |",
        flush=True,
    )


main()
