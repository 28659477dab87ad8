"""Runs one client of bench/batch.sh and prints a markdown table row:
wall time, the client's CPU (user+sys, its children included) and peak
RSS from wait4(), and the CPU time the Dovecot processes spent meanwhile
(master, its live descendants, and the children it reaped), which with the
core count gives the floor no client can beat.

usage: batch_measure.py LABEL LOGINS DOVECOT_PID -- COMMAND [ARGS...]
"""
import os
import subprocess
import sys
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


def main():
    label, logins, master = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    before = dovecot_cpu(master)
    start = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    time.sleep(0.3)  # let Dovecot reap its last login processes
    server = dovecot_cpu(master) - before
    cores = os.cpu_count() or 1
    floor = server / cores
    cpu = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    print(
        f"| {label} | {wall:.2f} | {cpu:.2f} | {cpu / logins * 1000:.2f} | "
        f"{usage.ru_maxrss / 1024:.1f} | {server:.2f} ({server / logins * 1000:.1f} ms/login) | "
        f"{floor:.2f} | {wall / floor:.2f}x | {code} |",
        flush=True,
    )


main()
