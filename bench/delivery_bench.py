#!/usr/bin/python3
"""Delivery benchmark (`make bench`): the floors of issue 11, "Delivery at the protocol limit".

circulate's real path (release binary, SQLite file, queue -> compose -> libcurl -> relay -> outcome recorded) against
Postfix's smtp-sink, compared in the same run with a C program doing the least libcurl needs to send the same bytes
(bench/curl_reference.c), with smtp-source (the raw protocol limit) and with a plain Python mail merge; plus CPU per
message, memory, wake-up latency, command-line timings and a long run of large reports.

Usage: delivery_bench.py CIRCULATE_BINARY POSTFIX_ROOT CURL_REFERENCE_BINARY [options] (see --help)

Every figure comes from one run on one machine: compare them with each other, not with other runs. The client side
(the daemon, `circulate send`, the C reference, smtp-source, the Python merge) runs on CPU 0 and smtp-sink on CPU 1.
"""
import argparse
import json
import os
import queue
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_CPU, SINK_CPU = "0", "1"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
LIST_ADDRESS = "cop@example.org"
READY = re.compile(r"delivering through .* with (\d+) connection")
FINISHED = re.compile(r"mailing (\d+) is finished: (\d+) sent, (\d+) failed, (\d+) cancelled")


def pinned(cpu, command):
    """taskset execs the command, so the process id is the command's own (for /proc and wait4)."""
    return ["taskset", "-c", cpu] + command


def progress(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Postfix's smtp-sink on a free loopback port, on its own CPU: accepts everything, stores nothing."""

    def __init__(self, postfix_root):
        self.port = free_port()
        self.root = postfix_root
        self.env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(postfix_root, "usr/lib/postfix"))
        self.proc = subprocess.Popen(pinned(SINK_CPU, [os.path.join(postfix_root, "usr/sbin/smtp-sink"), "-u", "nobody",
                                                       f"127.0.0.1:{self.port}", "512"]),
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("smtp-sink did not start")

    def smtp_source(self, sessions, count, size):
        """smtp-source with `sessions` connections reused for all messages (-d); returns messages per second."""
        start = time.perf_counter()
        subprocess.run(pinned(CLIENT_CPU, [os.path.join(self.root, "usr/sbin/smtp-source"), "-d", "-s", str(sessions),
                                           "-m", str(count), "-l", str(size), "-f", LIST_ADDRESS,
                                           "-t", "member@example.org", f"127.0.0.1:{self.port}"]),
                       env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return count / (time.perf_counter() - start)

    def check(self):
        """Stops the run if smtp-sink is gone: the daemon would only pause and wait for it."""
        if self.proc.poll() is not None:
            how = f"signal {-self.proc.returncode}" if self.proc.returncode < 0 else f"exit {self.proc.returncode}"
            raise SystemExit(f"smtp-sink stopped ({how}) in the middle of the run; nothing in the benchmark stops it "
                             "before the end, so something else on the machine did: run the benchmark again")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class CReference:
    """bench/curl_reference.c, compiled by scripts/bench: one reused easy handle per thread, the same message bytes."""

    name = "the C reference"

    def __init__(self, binary, port, message_file):
        self.binary, self.port, self.message = binary, port, message_file

    def options(self):
        """Options beyond the relay, sender, count and threads."""
        return []

    def problem(self):
        """What is wrong after a run that exited well, or None."""
        return None

    def run(self, threads, count):
        """Returns (messages per second over the whole process, CPU seconds per message from its rusage)."""
        start = time.perf_counter()
        proc = subprocess.Popen(pinned(CLIENT_CPU, [self.binary, "-u", f"smtp://127.0.0.1:{self.port}/example.org",
                                                    "-f", LIST_ADDRESS, "-n", str(count), "-t", str(threads),
                                                    *self.options(), self.message]),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
        proc.stdout.close()
        proc.stderr.close()
        result = json.loads(out) if out.strip() else {}
        problem = self.problem() if code == 0 and result.get("messages") == count else "it did not send them all"
        if problem:
            raise SystemExit(f"{self.name} failed (exit {code}; {problem}): {out}{err}")
        return count / elapsed, (usage.ru_utime + usage.ru_stime) / count


class DurableReference(CReference):
    """The C reference with `-d`: it also keeps the durable state circulate promises (README, "Durability"), and nothing
    else, on a copy of a real circulate database with the round's messages queued. What that state alone costs."""

    name = "the durable C reference"

    def __init__(self, binary, port, message_file, template, folder, batch=64):
        super().__init__(binary, port, message_file)
        self.template, self.batch = template, batch
        self.database = os.path.join(folder, "durable-reference.sqlite")

    def options(self):
        """A fresh copy of the template for each run."""
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.database + suffix):
                os.unlink(self.database + suffix)
        with open(self.template, "rb") as src, open(self.database, "wb") as dst:
            dst.write(src.read())
        return ["-d", self.database, "-b", str(self.batch)]

    def problem(self):
        """Every queued message of the copy must have ended `sent`."""
        with sqlite3.connect(self.database) as db:
            left = db.execute("SELECT count(*) FROM delivery WHERE state IN ('queued', 'deferred', 'sending')").fetchone()[0]
        return f"{left} messages left queued or sending" if left else None


class Instance:
    """A circulate instance in a temporary folder with `recipients` consenting members."""

    def __init__(self, binary, recipients, body, tags=None, role=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="circulate-bench-")
        self.body = os.path.join(self.dir, "body.md")
        with open(body, encoding="utf-8") as src, open(self.body, "w", encoding="utf-8") as dst:
            dst.write(src.read())
        self.run("init")
        sheet = os.path.join(self.dir, "members.csv")
        tags = tags or (lambda i: "sample" if i == 0 else "member")
        with open(sheet, "w", encoding="utf-8") as f:
            f.write("Name,Email,Consent,Tags\n")
            for i in range(recipients):
                f.write(f"Member Number {i},member{i}@example.org,yes,{tags(i)}\n")
        self.run("member", "import", sheet, "--source", "benchmark list", *(["--role", role] if role else []))

    def run(self, *args, config=None, pin=False):
        cmd = [self.binary] + ([f"--config={config}"] if config else []) + list(args)
        done = subprocess.run(pinned(CLIENT_CPU, cmd) if pin else cmd, cwd=self.dir, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"`circulate {' '.join(args)}` failed (exit {done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def config(self, name, smtp_port=None, connections=1):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write('[community]\nname = "Riverside Community of Practice"\n')
            f.write(f'[list]\naddress = "{LIST_ADDRESS}"\n')
            f.write(f"[delivery]\nconnections = {connections}\n")
            # No monthly slot: its reminders to the coordinator would be mailings the benchmark did not ask for.
            f.write('[updates]\nschedule = "off"\n')
            if smtp_port:
                f.write(f'[smtp]\nurl = "smtp://127.0.0.1:{smtp_port}"\nallow_plaintext = true\n')
        return path

    def send(self, config, *selection):
        """An announcement as a new mailing (`--again`), to everyone or to `selection` (e.g. --tag sample)."""
        return self.run("send", "--subject", "December update", "--body", self.body, "--stream", "monthly-update",
                        "--again", *selection, config=config, pin=True)

    def durable_template(self, config, count):
        """A copy of the database with one mailing of `count` messages queued (for `DurableReference`); in the instance
        itself that mailing is then cancelled, so the daemon never sends it. Call with no daemon running."""
        queued = self.send(config)
        mailing = re.search(r"mailing (\d+)", queued)
        if not mailing:
            raise SystemExit(f"`circulate send` did not name its mailing: {queued}")
        database = os.path.join(self.dir, "var/circulate.sqlite")
        with sqlite3.connect(database) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            queued_rows = db.execute("SELECT count(*) FROM delivery WHERE mailing_id = ? AND state = 'queued'",
                                     (int(mailing.group(1)),)).fetchone()[0]
        if queued_rows != count:
            raise SystemExit(f"mailing {mailing.group(1)} queued {queued_rows} messages, expected {count}")
        template = os.path.join(self.dir, "durable-template.sqlite")
        with sqlite3.connect(database) as src, sqlite3.connect(template) as dst:
            src.backup(dst)
        self.run("queue", "cancel", mailing.group(1), config=config)
        return template

    def cleanup(self):
        subprocess.run(["rm", "-rf", self.dir])


class Daemon:
    """`circulate serve` on CPU 0, its journal (stderr) read by a thread that blocks on the pipe: waiting for a
    mailing costs the daemon nothing. Started once per configuration and kept running across rounds."""

    def __init__(self, instance, config, sink=None, settle=1.0):
        self.sink = sink
        self.proc = subprocess.Popen(pinned(CLIENT_CPU, [instance.binary, f"--config={config}", "serve"]),
                                     cwd=instance.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.journal = []
        self.finished = queue.Queue()
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(60):
            self.stop(check=False)
            raise SystemExit("the daemon did not start:\n" + "\n".join(self.journal[-20:]))
        time.sleep(settle)

    def _read(self):
        for raw in self.proc.stderr:
            arrived = time.perf_counter()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.journal.append(line)
            if READY.search(line):
                self.ready.set()
            m = FINISHED.search(line)
            if m:
                self.finished.put((arrived, *map(int, m.groups())))
        self.finished.put(None)

    def wait_finished(self, sent, queued=None, timeout=900):
        """Waits for the journal line of the next finished mailing; checks it is the mailing `queued` says (the output
        of the command that made it) and that it sent `sent` messages and nothing else. Returns the time the line
        arrived (time.perf_counter)."""
        deadline = time.monotonic() + timeout
        while True:
            try:  # blocks on the queue; every 2 s a look (waitpid, no CPU to speak of) that the relay still runs
                event = self.finished.get(timeout=2)
                break
            except queue.Empty:
                if self.sink:
                    self.sink.check()
                if time.monotonic() > deadline:
                    raise SystemExit(f"no mailing finished within {timeout} s:\n" + "\n".join(self.journal[-20:]))
        if event is None:
            raise SystemExit(f"the daemon stopped (exit {self.proc.wait()}):\n" + "\n".join(self.journal[-20:]))
        arrived, mailing, got_sent, failed, cancelled = event
        expected = re.search(r"mailing (\d+)", queued) if queued is not None else None
        if queued is not None and (not expected or int(expected.group(1)) != mailing):
            raise SystemExit(f"mailing {mailing} finished, but the command said: {queued.strip()}")
        if (got_sent, failed, cancelled) != (sent, 0, 0):
            raise SystemExit(f"mailing {mailing} finished with {got_sent} sent, {failed} failed, {cancelled} cancelled; "
                             f"expected {sent} sent:\n" + "\n".join(self.journal[-20:]))
        return arrived

    def expect_quiet(self):
        if not self.finished.empty():
            raise SystemExit(f"a mailing the benchmark did not start finished: {self.finished.get()}")

    def cpu_seconds(self):
        """utime + stime of the whole process (all its threads), from /proc/PID/stat."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # fields 14 and 15 of proc(5)

    def memory_mb(self, key):
        """VmRSS (now) or VmHWM (the peak since start) in MB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        raise SystemExit(f"no {key} for the daemon")

    def __enter__(self):
        return self

    def __exit__(self, failure, *_):
        self.stop(check=failure is None)  # a run already failing keeps its own reason

    def stop(self, check=True):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        self.reader.join(10)
        if check and code != 0:
            raise SystemExit(f"the daemon exited with {code}:\n" + "\n".join(self.journal[-20:]))


def sample_message(instance, folder):
    """One real message circulate wrote: the mailing's twin sent to the one member tagged 'sample', into the Maildir
    outbox. Returns the path of its bytes as they go to a relay (Maildir delivery lines removed, CRLF line ends)."""
    maildir = instance.config("maildir.toml")
    with Daemon(instance, maildir, settle=0) as daemon:
        daemon.wait_finished(1, instance.send(maildir, "--tag", "sample"))
    new = os.path.join(instance.dir, "var/outbox/new")
    with open(os.path.join(new, os.listdir(new)[0]), "rb") as f:
        data = f.read()
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    while lines and (lines[0].startswith(b"Return-Path:") or lines[0].startswith(b"Delivered-To:")):
        lines.pop(0)
    path = os.path.join(folder, "message.eml")
    with open(path, "wb") as f:
        f.write(b"\r\n".join(lines))
    return path


def machine_busy_seconds():
    """CPU seconds all processes on the machine spent busy since boot (/proc/stat), and those stolen by the host."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq) / CLOCK_TICK, steal / CLOCK_TICK


def own_cpu_seconds():
    """CPU seconds of this script and every process it started and reaped (daemons, senders, smtp-sink, commands)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def median(values):
    return statistics.median(values)


def timed_ms(fn, runs):
    """Median wall time of `runs` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return median(times)


def circulate_round(daemon, instance, config, count, *selection):
    """One mailing end to end (to everyone, or to `selection`, e.g. --tag first): from the start of `circulate send`
    (daemon running and idle) to the journal line that says its last outcome is recorded. Returns (messages per second,
    daemon CPU seconds per message)."""
    time.sleep(1)  # the daemon idle and settled; the previous contender gone
    daemon.expect_quiet()
    cpu = daemon.cpu_seconds()
    start = time.perf_counter()
    queued = instance.send(config, *selection)
    arrived = daemon.wait_finished(count, queued)
    cpu = daemon.cpu_seconds() - cpu
    return count / (arrived - start), cpu / count


def rate_rounds(r, inst, sink, cref, dref, size, connections, rounds, count, after=None):
    """`rounds` rounds at `connections`, alternating circulate, the C reference, the durable C reference and
    smtp-source in each round; the daemon is started once and kept running. Stores medians and memory in `r`;
    `after(daemon)` runs before it stops."""
    cfg = inst.config(f"relay{connections}.toml", sink.port, connections)
    with Daemon(inst, cfg, sink) as daemon:
        idle = daemon.memory_mb("VmRSS")
        circ, circ_cpu, ref, ref_cpu, dur, dur_cpu, src = [], [], [], [], [], [], []
        for n in range(rounds):
            rate, cpu = circulate_round(daemon, inst, cfg, count)
            circ.append(rate)
            circ_cpu.append(cpu)
            time.sleep(1)
            rate, cpu = cref.run(connections, count)
            ref.append(rate)
            ref_cpu.append(cpu)
            time.sleep(1)
            rate, cpu = dref.run(connections, count)
            dur.append(rate)
            dur_cpu.append(cpu)
            time.sleep(1)
            src.append(sink.smtp_source(connections, count, size))
            progress(f"{connections} connection(s), round {n + 1} of {rounds}: circulate {circ[-1]:.0f} msg/s "
                     f"({circ_cpu[-1] * 1e6:.0f} µs CPU a message), C reference {ref[-1]:.0f} "
                     f"({ref_cpu[-1] * 1e6:.0f} µs), durable C reference {dur[-1]:.0f} ({dur_cpu[-1] * 1e6:.0f} µs), "
                     f"smtp-source {src[-1]:.0f}")
        peak = daemon.memory_mb("VmHWM")
        if after:
            after(daemon, cfg)
    k = f"_{connections}"
    r["circulate" + k], r["c_reference" + k], r["smtp_source" + k] = median(circ), median(ref), median(src)
    r["circulate_rounds" + k], r["c_reference_rounds" + k], r["smtp_source_rounds" + k] = circ, ref, src
    r["circulate_cpu_us" + k] = median(circ_cpu) * 1e6
    r["c_reference_cpu_us" + k] = median(ref_cpu) * 1e6
    r["c_durable" + k], r["c_durable_rounds" + k] = median(dur), dur
    r["c_durable_cpu_us" + k] = median(dur_cpu) * 1e6
    r["idle_rss" + k], r["peak_rss" + k] = idle, peak


def cli_timings(r, inst, daemon, config, runs):
    """Wall time of the everyday commands, with the daemon running idle, on the list as it stands."""
    added = inst.run("session", "add", "--title", "After the first night", "--start", "2027-01-13 10:00",
                     "--length", "2h", "--venue", "Riverside Centre", config=config)
    session = re.search(r"session (\d+)", added).group(1)
    queued = inst.run("report", "distribute", "--title", "Hospital discharge: five changes that would help",
                      "--link", "https://example.org/reports/hospital-discharge.pdf", "--audience", "sample",
                      config=config)
    report = re.search(r"Report (\d+)", queued).group(1)
    daemon.wait_finished(1, queued)
    commands = {
        "member list": ["member", "list"],
        "member show": ["member", "show", "member5@example.org"],
        "queue status": ["queue", "status"],
        "session show": ["session", "show", session],
        "report status": ["report", "status", report],
    }
    r["cli_ms"] = {name: timed_ms(lambda: inst.run(*args, config=config), runs) for name, args in commands.items()}


def wake_up(r, inst, daemon, config, tries, idle_seconds):
    """A 1-recipient mailing to an idle daemon: how long `send` takes, and how long after it returned the daemon
    records the mailing as finished. The idle time before each try grows by 1/tries of a second, so that the tries
    fall at every phase of a daemon that polls each second instead of always at the same one (the wait after a
    finished mailing would otherwise lock them to its poll)."""
    send_ms, after_ms = [], []
    for n in range(tries):
        progress(f"wake-up try {n + 1} of {tries}")
        time.sleep(idle_seconds + n / tries)
        daemon.expect_quiet()
        start = time.perf_counter()
        queued = inst.send(config, "--tag", "sample")
        returned = time.perf_counter()
        arrived = daemon.wait_finished(1, queued)
        send_ms.append((returned - start) * 1000)
        after_ms.append((arrived - returned) * 1000)
    r["wake_send_ms"], r["wake_after_ms"] = median(send_ms), median(after_ms)
    r["wake_after_ms_all"] = [round(x, 1) for x in after_ms]


def delivery_rows(inst):
    """Rows in `delivery` and `mailing`: a read-only look while the daemon is idle, to say what the list held."""
    db = sqlite3.connect(f"file:{inst.dir}/var/circulate.sqlite?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM delivery").fetchone()[0], \
            db.execute("SELECT count(*) FROM mailing").fetchone()[0]
    finally:
        db.close()


def long_run(r, binary, body, sink, members, mailings, megabytes):
    """`mailings` reports, each a different file of random bytes attached, to `members` people: the daemon's RSS after
    the 1st, 10th and last."""
    inst = Instance(binary, members, body, tags=lambda i: "member", role="board")
    try:
        cfg = inst.config("relay-reports.toml", sink.port, 2)
        with Daemon(inst, cfg, sink) as daemon:
            r["long_idle_rss"] = daemon.memory_mb("VmRSS")
            rss = {}
            report = os.path.join(inst.dir, "report.pdf")
            for n in range(1, mailings + 1):
                with open(report, "wb") as f:
                    f.write(os.urandom(megabytes * 1_000_000))
                queued = inst.run("report", "distribute", report, "--title", f"Report {n} of the benchmark",
                                  "--audience", "board", config=cfg)
                daemon.wait_finished(members, queued)
                if n in (1, 10, mailings):
                    time.sleep(1)
                    rss[n] = daemon.memory_mb("VmRSS")
                    progress(f"report mailing {n} of {mailings}: RSS {rss[n]:.1f} MB")
            r["long_rss"] = rss
            r["long_peak_rss"] = daemon.memory_mb("VmHWM")
    finally:
        inst.cleanup()


def python_merge(r, sink, body, count, connections):
    done = subprocess.run(pinned(CLIENT_CPU, ["/usr/bin/python3", os.path.join(HERE, "mail_merge.py"), "127.0.0.1",
                                              str(sink.port), str(count), body, "--connections", str(connections)]),
                          check=True, capture_output=True, text=True)
    r[f"python_merge_{connections}"] = json.loads(done.stdout)["rate"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary")
    p.add_argument("postfix_root")
    p.add_argument("curl_reference")
    p.add_argument("--recipients", type=int, default=10_000, help="members of the main list")
    p.add_argument("--large", type=int, default=100_000, help="members of the large list (memory, queueing)")
    p.add_argument("--rounds", type=int, default=5, help="rounds at 1 and 4 connections (medians)")
    p.add_argument("--extra-rounds", type=int, default=2, help="rounds at 2 and 8 connections (no floor)")
    p.add_argument("--merge", type=int, default=3_000, help="messages for the Python mail merge")
    p.add_argument("--wake-tries", type=int, default=10)
    p.add_argument("--cli-runs", type=int, default=5)
    p.add_argument("--long-mailings", type=int, default=50)
    p.add_argument("--long-members", type=int, default=20)
    p.add_argument("--attachment-mb", type=int, default=5)
    a = p.parse_args()
    # SIGTERM (and Ctrl-C) unwind through the `finally` blocks: no daemon or smtp-sink is left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    body = os.path.join(HERE, "sample-update.md")
    began = time.perf_counter()
    busy_before, steal_before = machine_busy_seconds()
    r = {"recipients": a.recipients, "large": a.large, "rounds": a.rounds,
         "load_average_at_start": os.getloadavg()[0]}
    work = tempfile.mkdtemp(prefix="circulate-bench-work-")
    sink = Sink(a.postfix_root)
    try:
        main_list(r, a, body, sink, work)
        for connections in (1, 2, 4, 8):
            progress(f"Python mail merge, {connections} connection(s)")
            python_merge(r, sink, body, a.merge, connections)
        large_list(r, a, body, sink)
        progress(f"long run: {a.long_mailings} reports of {a.attachment_mb} MB to {a.long_members} members")
        long_run(r, a.binary, body, sink, a.long_members, a.long_mailings, a.attachment_mb)
    finally:
        sink.stop()
        subprocess.run(["rm", "-rf", work])
    r["seconds"] = time.perf_counter() - began
    busy, steal = machine_busy_seconds()
    # What the rest of the machine did meanwhile: the noise in every figure above.
    r["other_cpu_seconds"] = max(0.0, busy - busy_before - own_cpu_seconds())
    r["steal_cpu_seconds"] = steal - steal_before
    report(r, a)


def main_list(r, a, body, sink, work):
    """The 10,000 list: the rounds at 1, 4, 2 and 8 connections, and between them (10,000 members and 100,000
    delivery rows) the command timings and the wake-up tries."""
    progress(f"a list of {a.recipients:,} members and one real message")
    inst = Instance(a.binary, a.recipients, body)
    try:
        message = sample_message(inst, work)
        size = os.path.getsize(message)
        r["message_bytes"] = size
        cref = CReference(a.curl_reference, sink.port, message)
        dref = DurableReference(a.curl_reference, sink.port, message,
                                inst.durable_template(inst.config("queue-only.toml"), a.recipients), work)

        def at_four(daemon, cfg):
            rows, mailings = delivery_rows(inst)
            r["cli_setup"] = f"{a.recipients:,} members, {rows:,} delivery rows in {mailings} mailings, daemon idle"
            r["cli_rows"] = rows
            progress(f"command-line timings ({r['cli_setup']})")
            cli_timings(r, inst, daemon, cfg, a.cli_runs)
            wake_up(r, inst, daemon, cfg, a.wake_tries, 3)

        rate_rounds(r, inst, sink, cref, dref, size, 1, a.rounds, a.recipients)
        rate_rounds(r, inst, sink, cref, dref, size, 4, a.rounds, a.recipients, after=at_four)
        for connections in (2, 8):
            rate_rounds(r, inst, sink, cref, dref, size, connections, a.extra_rounds, a.recipients)
    finally:
        inst.cleanup()


def large_list(r, a, body, sink):
    """The 100,000 list: three mailings to its first 10,000 (tagged `first`), then the time to queue all of them and
    one mailing at 4 connections (rate and memory). The 10,000 ones, sent by the same daemon just before, are what the
    large mailing's rate is compared with: the same moment of the run, the same database."""
    progress(f"a list of {a.large:,} members")
    large = Instance(a.binary, a.large, body, tags=lambda i: "first" if i < a.recipients else "member")
    try:
        cfg = large.config("relay4.toml", sink.port, 4)
        with Daemon(large, cfg, sink) as daemon:
            r["large_idle_rss"] = daemon.memory_mb("VmRSS")
            small = [circulate_round(daemon, large, cfg, a.recipients, "--tag", "first")[0] for _ in range(3)]
            r["circulate_4_small_in_large"], r["circulate_4_small_in_large_rounds"] = median(small), small
            time.sleep(1)
            cpu = daemon.cpu_seconds()
            start = time.perf_counter()
            queued = large.send(cfg)
            r["enqueue_large_seconds"] = time.perf_counter() - start
            r["circulate_4_large"] = a.large / (daemon.wait_finished(a.large, queued, timeout=1800) - start)
            r["circulate_cpu_us_4_large"] = (daemon.cpu_seconds() - cpu) / a.large * 1e6
            r["large_peak_rss"] = daemon.memory_mb("VmHWM")
            progress(f"{a.large:,} queued in {r['enqueue_large_seconds']:.2f} s, sent at {r['circulate_4_large']:.0f} msg/s")
    finally:
        large.cleanup()


def report(r, a):
    def ratio(x, y):
        return x / y if y else float("inf")

    others = r["other_cpu_seconds"] / (r["seconds"] * os.cpu_count())
    print(f"machine: {os.cpu_count()} CPUs; load average {r['load_average_at_start']:.2f} at the start; other processes "
          f"used {r['other_cpu_seconds']:.0f} CPU-seconds during the run ({others:.0%} of the machine), the host stole "
          f"{r['steal_cpu_seconds']:.0f}" + ("" if others < 0.05 else
                                          "  <- NOT QUIET: rates and CPU figures are disturbed; run it again"))
    print(f"message: {r['message_bytes']} bytes (a real personalised multipart/alternative message circulate wrote)")
    print(f"client side on CPU {CLIENT_CPU}, smtp-sink on CPU {SINK_CPU}; medians of {a.rounds} rounds at 1 and 4 "
          f"connections, {a.extra_rounds} at 2 and 8; {a.recipients:,} messages a round")
    print()
    print("End to end, messages per second (circulate: from `circulate send` started to the last outcome recorded)")
    print(f"{'':30}" + "".join(f"{c:>10}" for c in ("1", "2", "4", "8")))
    for name, key in (("circulate", "circulate"), ("C reference (libcurl)", "c_reference"),
                      ("durable C reference", "c_durable"),
                      ("smtp-source", "smtp_source"), ("Python mail merge", "python_merge")):
        print(f"{name:30}" + "".join(f"{r[f'{key}_{c}']:10.0f}" for c in (1, 2, 4, 8)))
    print(f"{'circulate / C reference':30}" + "".join(f"{ratio(r[f'circulate_{c}'], r[f'c_reference_{c}']):10.2f}"
                                                     for c in (1, 2, 4, 8)))
    print(f"{'durable C ref. / C reference':30}" + "".join(f"{ratio(r[f'c_durable_{c}'], r[f'c_reference_{c}']):10.2f}"
                                                          for c in (1, 2, 4, 8)))
    print(f"{'circulate / smtp-source':30}" + "".join(f"{ratio(r[f'circulate_{c}'], r[f'smtp_source_{c}']):10.2f}"
                                                     for c in (1, 2, 4, 8)))
    print(f"{'circulate / Python mail merge':30}" + "".join(
        f"{ratio(r[f'circulate_{c}'], r[f'python_merge_{c}']):10.1f}" for c in (1, 2, 4, 8)))
    print(f"rounds at 1 connection: circulate {', '.join(f'{x:.0f}' for x in r['circulate_rounds_1'])}; "
          f"C reference {', '.join(f'{x:.0f}' for x in r['c_reference_rounds_1'])}; "
          f"durable C reference {', '.join(f'{x:.0f}' for x in r['c_durable_rounds_1'])}; "
          f"smtp-source {', '.join(f'{x:.0f}' for x in r['smtp_source_rounds_1'])}")
    print(f"rounds at 4 connections: circulate {', '.join(f'{x:.0f}' for x in r['circulate_rounds_4'])}; "
          f"C reference {', '.join(f'{x:.0f}' for x in r['c_reference_rounds_4'])}; "
          f"durable C reference {', '.join(f'{x:.0f}' for x in r['c_durable_rounds_4'])}")
    print()
    print("CPU per delivered message (µs): daemon utime+stime from /proc; C reference rusage")
    print(f"{'':30}" + "".join(f"{c:>10}" for c in ("1", "2", "4", "8")))
    print(f"{'circulate serve':30}" + "".join(f"{r[f'circulate_cpu_us_{c}']:10.1f}" for c in (1, 2, 4, 8)))
    print(f"{'C reference':30}" + "".join(f"{r[f'c_reference_cpu_us_{c}']:10.1f}" for c in (1, 2, 4, 8)))
    print(f"{'durable C reference':30}" + "".join(f"{r[f'c_durable_cpu_us_{c}']:10.1f}" for c in (1, 2, 4, 8)))
    print(f"{'circulate / C reference':30}" + "".join(
        f"{ratio(r[f'circulate_cpu_us_{c}'], r[f'c_reference_cpu_us_{c}']):10.2f}" for c in (1, 2, 4, 8)))
    print(f"{'durable C ref. / C reference':30}" + "".join(
        f"{ratio(r[f'c_durable_cpu_us_{c}'], r[f'c_reference_cpu_us_{c}']):10.2f}" for c in (1, 2, 4, 8)))
    print()
    print("Memory of circulate serve (MB): idle = VmRSS settled before any send; peak = VmHWM after the rounds")
    for c in (1, 2, 4, 8):
        print(f"  {c} connection(s), {a.recipients:,} a mailing: idle {r[f'idle_rss_{c}']:.1f}, "
              f"peak {r[f'peak_rss_{c}']:.1f}, peak - idle {r[f'peak_rss_{c}'] - r[f'idle_rss_{c}']:+.1f}")
    print(f"  4 connections, {a.large:,} in one mailing: idle {r['large_idle_rss']:.1f}, peak {r['large_peak_rss']:.1f}, "
          f"peak - peak at {a.recipients:,} {r['large_peak_rss'] - r['peak_rss_4']:+.1f}")
    lr = r["long_rss"]
    last = a.long_mailings
    print(f"  long run, {a.long_mailings} reports with a {a.attachment_mb} MB attachment to {a.long_members} members "
          f"(2 connections): idle {r['long_idle_rss']:.1f}, after 1: {lr[1]:.1f}, after 10: {lr[10]:.1f}, "
          f"after {last}: {lr[last]:.1f}, peak {r['long_peak_rss']:.1f}")
    print()
    print(f"Wake-up: send took {r['wake_send_ms']:.0f} ms; the daemon started and finished the 1-message mailing "
          f"{r['wake_after_ms']:.0f} ms after send returned (medians of {a.wake_tries}; each try: "
          f"{', '.join(f'{x:.0f}' for x in r['wake_after_ms_all'])} ms)")
    print(f"Commands on {r['cli_setup']} (median of {a.cli_runs}, ms): "
          + ", ".join(f"{name} {ms:.0f}" for name, ms in r["cli_ms"].items()))
    print(f"Queueing {a.large:,} recipients (circulate send, whole command, daemon idle): "
          f"{r['enqueue_large_seconds']:.2f} s; then {r['circulate_4_large']:.0f} msg/s at 4 connections; "
          f"{a.recipients:,} of the same list just before, same daemon: "
          f"{', '.join(f'{x:.0f}' for x in r['circulate_4_small_in_large_rounds'])} msg/s "
          f"({ratio(r['circulate_4_large'], r['circulate_4_small_in_large']):.2f} of their median; "
          f"{ratio(r['circulate_4_large'], r['circulate_4']):.2f} of the main list's median)")
    print()

    # What the durable state alone costs, in this run: the part of each floor no sender keeping circulate's promises
    # can avoid (bench/README.md, "The durable C reference").
    print("The durable C reference against the floors (the state circulate must keep, and nothing else):")
    print(f"  CPU per message at 1 connection: {ratio(r['c_durable_cpu_us_1'], r['c_reference_cpu_us_1']):.2f} x the C "
          f"reference (floor for circulate: 1.3); at 4: {ratio(r['c_durable_cpu_us_4'], r['c_reference_cpu_us_4']):.2f}")
    print(f"  end to end: {ratio(r['c_durable_1'], r['c_reference_1']):.2f} x the C reference at 1 connection, "
          f"{ratio(r['c_durable_4'], r['c_reference_4']):.2f} at 4 (floor for circulate: 0.9); "
          f"{ratio(r['c_durable_1'], r['smtp_source_1']):.2f} x smtp-source at 1 (floor: 0.8)")
    print(f"  circulate over the durable C reference: CPU {ratio(r['circulate_cpu_us_1'], r['c_durable_cpu_us_1']):.2f} at 1 "
          f"connection, {ratio(r['circulate_cpu_us_4'], r['c_durable_cpu_us_4']):.2f} at 4; rate "
          f"{ratio(r['circulate_1'], r['c_durable_1']):.2f} at 1, {ratio(r['circulate_4'], r['c_durable_4']):.2f} at 4")
    print()

    cpu_ratio = ratio(r["circulate_cpu_us_1"], r["c_reference_cpu_us_1"])
    floors = [
        (f"CPU per message at 1 connection <= 1.3 x the C reference ({r['circulate_cpu_us_1']:.1f} vs "
         f"{r['c_reference_cpu_us_1']:.1f} µs)", cpu_ratio, cpu_ratio <= 1.3),
        ("end to end >= 0.9 x the C reference at 1 connection",
         ratio(r["circulate_1"], r["c_reference_1"]), r["circulate_1"] >= 0.9 * r["c_reference_1"]),
        ("end to end >= 0.9 x the C reference at 4 connections",
         ratio(r["circulate_4"], r["c_reference_4"]), r["circulate_4"] >= 0.9 * r["c_reference_4"]),
        ("end to end >= 0.8 x smtp-source at 1 connection",
         ratio(r["circulate_1"], r["smtp_source_1"]), r["circulate_1"] >= 0.8 * r["smtp_source_1"]),
    ]
    for c in (1, 4):
        grow = r[f"peak_rss_{c}"] - r[f"idle_rss_{c}"]
        floors.append((f"peak RSS while sending <= idle + 5 MB at {c} connection(s) ({grow:+.1f} MB)",
                       ratio(r[f"peak_rss_{c}"], r[f"idle_rss_{c}"]), grow <= 5))
    grow = r["large_peak_rss"] - r["peak_rss_4"]
    floors.append((f"peak RSS at {a.large:,} recipients <= peak at {a.recipients:,} + 1 MB ({grow:+.1f} MB)",
                   ratio(r["large_peak_rss"], r["peak_rss_4"]), grow <= 1))
    floors.append((f"wake-up: 1-message mailing finished <= 50 ms after send returned ({r['wake_after_ms']:.0f} ms)",
                   r["wake_after_ms"] / 50, r["wake_after_ms"] <= 50))
    for name, ms in r["cli_ms"].items():
        floors.append((f"`{name}` <= 100 ms ({ms:.0f} ms)", ms / 100, ms <= 100))
    grow = r["long_rss"][last] - r["long_rss"][10]
    floors.append((f"RSS after {last} report mailings <= after 10 + 5 MB ({grow:+.1f} MB)",
                   ratio(r["long_rss"][last], r["long_rss"][10]), grow <= 5))
    floors.append((f"earlier floor: {a.large:,} recipients queue in under 5 s ({r['enqueue_large_seconds']:.2f} s)",
                   r["enqueue_large_seconds"] / 5, r["enqueue_large_seconds"] < 5))
    large_vs_small = ratio(r["circulate_4_large"], r["circulate_4_small_in_large"])
    floors.append((f"earlier floor: a {a.large:,}-recipient send at >= 0.9 x the rate of a {a.recipients:,} one",
                   large_vs_small, large_vs_small >= 0.9))
    for name, value, ok in floors:
        print(f"{'PASS' if ok else 'FAIL'}  {name}  [ratio {value:.2f}]")
    failed = sum(1 for _, _, ok in floors if not ok)
    print(f"{len(floors) - failed} of {len(floors)} floors pass; the whole benchmark took {r['seconds'] / 60:.1f} min")
    r["floors"] = [{"floor": name, "ratio": round(value, 3), "pass": ok} for name, value, ok in floors]
    print(json.dumps(r))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
