#!/usr/bin/python3
"""SMTP relay stand-in for circulate's integration tests (Debian python3 + python3-aiosmtpd 1.4).

Usage:
    /usr/bin/python3 smtp_fixture.py --port 0 --spool DIR [--starttls required|offered|off]
        [--smtps] [--auth USER:PASS] [--faults FILE] [--hostname localhost]

Listens on 127.0.0.1 only (--port 0 picks a free port). Once listening it prints ONE line to stdout:
    {"port": 2525, "cafile": "/tmp/smtp-fixture-xyz/cert.pem", "pid": 1234}
cafile is a self-signed certificate made at start-up (CN=localhost, SAN DNS:localhost, IP:127.0.0.1 and
--hostname); trust it as the CA file. Nothing else is written to stdout or stderr after start-up (a test
that never drains stderr must not block the server), diagnostics go to DIR/fixture.log. Runs until
SIGTERM/SIGINT, or until its parent process goes away (checked every second; so start it directly from the
test process, not from a shell that exits), then exits 0 and deletes the certificate.

TLS and AUTH:
  --starttls required  STARTTLS advertised; MAIL/RCPT/DATA/AUTH before it: 530 5.7.0 Must issue a STARTTLS command first
  --starttls offered   STARTTLS advertised, optional (the default)
  --starttls off       no STARTTLS
  --smtps              implicit TLS on connect (465 style); --starttls is then ignored
  --auth USER:PASS     AUTH PLAIN LOGIN advertised (only once TLS is up, if TLS is on); wrong credentials:
                       535 5.7.8 Authentication credentials invalid; MAIL before AUTH: 530 5.7.0 Authentication required
SMTPUTF8, 8BITMIME and SIZE 31457280 (30 MB) are advertised. Lines longer than 1000 octets get "500 Line too long".

Spool (DIR), per accepted message seq = 1, 2, ... (continuing after any NNN.json already in DIR):
  NNN.eml   the exact DATA bytes received (CRLF line ends, after dot-unstuffing)
  NNN.json  {"seq": n, "mail_from": "...", "rcpt_tos": [...], "peer": "127.0.0.1:PORT", "tls": bool,
             "auth_user": "user"|null, "smtputf8": bool, "mail_options": [...], "conn": n}
  Each file is written under a hidden temporary name and renamed into place; the .eml is renamed FIRST and
  the .json LAST, so once NNN.json exists both files are complete. Readers: wait for the .json.
  DIR/events.jsonl  one JSON object per line, appended as things happen:
    {"t": 1700000000.1, "conn": 1, "event": "connect", "peer": "127.0.0.1:PORT", "tls": false}
    {"t": ..., "conn": 1, "event": "ehlo"|"helo"|"starttls"|"mail"|"rcpt"|"data"|"rset"|"noop"|"quit"|...,
     "arg": "TO:<b@example.org>", "code": 250, "reply": "250 2.1.5 Ok", "tls": true}
       ("auth" carries "mechanism", "ok" and "user" instead of "arg"; "data" adds "rcpt_tos" and, when the
        message was captured, "seq"; "code" is null if the client vanished before a reply)
    {"t": ..., "conn": 1, "event": "fault", "when": "rcpt", "action": "reply", "reply": "451 ...", "address": "..."}
    {"t": ..., "conn": 1, "event": "greeting", "code": 421, "reply": "..."}  (only when a fault or the
                                                        64-connection cap replaces the 220 greeting)
    {"t": ..., "conn": 1, "event": "disconnect"}
  "conn" numbers connections, so count "connect"/"ehlo" events to prove connection reuse.

Faults (--faults FILE): a JSON list of rules, re-read at every fault check (greeting, MAIL, RCPT, end of DATA,
AUTH), so a test may rewrite the file while the server runs (write it atomically; an unreadable file keeps
the last good rules; a missing file means no faults). The first rule that applies wins:
  {"when": "greeting"|"mail"|"rcpt"|"data"|"auth",
   "match": "substring",      optional, case-insensitive; against the MAIL FROM address ("mail"), the RCPT
                              address ("rcpt"), or any envelope recipient ("data"); ignored for greeting/auth
   "action": "reply"|"disconnect"|"delay",   default "reply"
   "reply": "451 4.3.0 Try again later",     reply sent instead of the normal one (default 451 4.3.0 ...)
   "seconds": 2,              for "delay": wait, then send "reply" if the rule has one, else carry on normally
   "times": 2}                optional: fire this many times, then stop applying. Counted per address for
                              mail/rcpt/data (a rule without "match" gives every address its own count), once
                              per server for greeting/auth; counts last for the server's life and belong to the
                              rule's exact JSON text (add e.g. "id" to make a changed rule count afresh).
  Any 421 reply closes the connection after it is sent (RFC 5321 3.8); so does any greeting fault reply.
  "auth" rules act when the AUTH command arrives, before the SASL exchange, and count each AUTH command
  (note that some clients, e.g. Python's smtplib, retry with another mechanism after a 535).
  "disconnect" closes the connection without a reply; at "data" that is after the message content arrived and
  before the reply to the final dot, and the message is NOT captured. Examples:
    [{"when": "rcpt", "match": "flaky@example.org", "reply": "451 4.3.0 Try again later", "times": 2},
     {"when": "rcpt", "match": "gone@example.org", "reply": "550 5.1.1 No such user"},
     {"when": "data", "match": "spam@example.org", "reply": "554 5.7.1 Message rejected"},
     {"when": "data", "match": "drop@example.org", "action": "disconnect"},
     {"when": "greeting", "reply": "421 4.3.2 Service not available", "times": 1},
     {"when": "auth", "reply": "535 5.7.8 Authentication credentials invalid"},
     {"when": "data", "match": "slow@example.org", "action": "delay", "seconds": 3}]
"""
import argparse
import asyncio
import functools
import hmac
import ipaddress
import json
import logging
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

from aiosmtpd.smtp import MISSING, SMTP, AuthResult

DATA_LIMIT = 30 * 1024 * 1024
MAX_CONNECTIONS = 64           # bounded resources: further connections get a 421
MAX_DELAY = 300.0              # a typo in a fault file must not hang a test run for hours
DEFAULT_FAULT_REPLY = "451 4.3.0 Fault injected, try again later"
# Commands allowed before STARTTLS in "required" mode (RFC 3207 section 4 lets the server refuse the rest).
BEFORE_TLS = {"EHLO", "HELO", "NOOP", "RSET", "QUIT", "STARTTLS", "HELP"}
ACTIVE = set()                 # live connections, for the connection cap and for shutdown
log = logging.getLogger("smtp_fixture")


class Spool:
    """The spool directory: captured messages plus the events log."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)
        # Continue numbering after an earlier run so nothing already captured is overwritten.
        done = [int(m.group(1)) for m in map(re.compile(r"(\d+)\.json$").match, os.listdir(path)) if m]
        self.seq = max(done, default=0)
        self.conns = 0
        self.events = open(os.path.join(path, "events.jsonl"), "ab", buffering=0)

    @staticmethod
    def _json(obj):
        # ensure_ascii=False keeps UTF-8 addresses readable; surrogateescape gives back the client's exact
        # bytes if it sent something that is not UTF-8 (aiosmtpd decodes with surrogateescape).
        return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogateescape")

    def event(self, conn, name, **fields):
        try:  # one unbuffered write per line, so a reader never sees two events interleaved
            self.events.write(self._json({"t": round(time.time(), 3), "conn": conn, "event": name, **fields}) + b"\n")
        except OSError:
            log.exception("cannot write event %s", name)

    def _put(self, name, data):
        tmp = os.path.join(self.path, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.path, name))

    def capture(self, meta, content):
        self.seq += 1
        meta["seq"] = self.seq
        self._put("%d.eml" % self.seq, content)           # first the message ...
        self._put("%d.json" % self.seq, self._json(meta))  # ... then the sidecar that readers wait for
        return self.seq


class Faults:
    """Fault rules from --faults, re-read on every check; "times" counters live as long as the server."""

    def __init__(self, path):
        self.path, self.rules, self.fired = path, [], {}

    def _load(self):
        if not self.path:
            return []
        try:
            with open(self.path, "rb") as f:
                rules = json.load(f)
            if not isinstance(rules, list):
                raise ValueError("faults file must hold a JSON list")
            self.rules = [r for r in rules if isinstance(r, dict)]
        except FileNotFoundError:
            self.rules = []
        except (OSError, ValueError) as e:  # half-written or bad file: keep the last good rules
            log.warning("faults file %s unreadable (%s); keeping previous rules", self.path, e)
        return self.rules

    async def check(self, conn, when, addresses=None):
        """Return a reply to send instead of the normal one, or None to carry on normally.
        addresses=None means a per-server check (greeting, auth) where "match" does not apply."""
        for rule in self._load():
            if rule.get("when") != when:
                continue
            if addresses is None:
                hits = [""]
            else:
                match = str(rule.get("match", "")).lower()
                hits = [a.lower() for a in addresses if match in a.lower()]
            key = json.dumps(rule, sort_keys=True)
            times = rule.get("times")
            if isinstance(times, int):
                hits = [a for a in hits if self.fired.get((key, a), 0) < times]
            if not hits:
                continue
            for a in hits:
                self.fired[(key, a)] = self.fired.get((key, a), 0) + 1
            return await self._act(conn, when, rule, hits[0])
        return None

    async def _act(self, conn, when, rule, address):
        action = rule.get("action", "reply")
        conn.spool.event(conn.conn_id, "fault", when=when, action=action, reply=rule.get("reply"), address=address)
        if action == "disconnect":
            conn.drop()
        if action == "delay":
            seconds = rule.get("seconds", 1)
            await asyncio.sleep(min(max(seconds, 0), MAX_DELAY) if isinstance(seconds, (int, float)) else 1)
            return rule.get("reply")
        return str(rule.get("reply") or DEFAULT_FAULT_REPLY)


class Handler:
    """aiosmtpd hooks (handle_*). A hook's return value is the reply; MISSING means aiosmtpd's default."""

    def __init__(self, cfg, spool, faults):
        self.cfg, self.spool, self.faults = cfg, spool, faults

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # aiosmtpd leaves this to the hook when one exists
        if not self.cfg.auth:  # aiosmtpd always lists its built-in mechanisms; hide them when AUTH is off
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        return responses

    async def handle_AUTH(self, server, session, envelope, args):
        # Runs before the SASL exchange; a string return is sent as the reply instead.
        if not self.cfg.auth:
            return "503 5.5.1 Error: authentication not enabled"
        return await self.faults.check(server, "auth") or MISSING

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = await self.faults.check(server, "mail", [address])
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = await self.faults.check(server, "rcpt", [address])
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        # Called after the final dot and before its reply: the place for data faults.
        reply = await self.faults.check(server, "data", envelope.rcpt_tos)
        if reply:
            return reply
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "peer": server.peer,
                "tls": server.is_tls, "auth_user": session.auth_data if session.authenticated else None,
                "smtputf8": bool(envelope.smtp_utf8), "mail_options": list(envelope.mail_options),
                "conn": server.conn_id}
        server.captured = self.spool.capture(meta, envelope.original_content)
        return "250 2.0.0 Ok: queued as %d" % server.captured


class FixtureSMTP(SMTP):
    """aiosmtpd's SMTP with greeting faults, a TLS gate with RFC 3207 wording, and event logging."""

    def __init__(self, cfg, handler, tls_context):
        auth_kwargs = {}
        if cfg.auth:
            user, password = cfg.auth.split(":", 1)

            def authenticator(server, session, envelope, mechanism, data):
                ok = (hmac.compare_digest(data.login, user.encode())
                      and hmac.compare_digest(data.password, password.encode()))
                # handled=False makes aiosmtpd send its "535 5.7.8 Authentication credentials invalid".
                return AuthResult(success=bool(ok), handled=False, auth_data=user if ok else None)

            auth_kwargs = {"authenticator": authenticator, "auth_required": True}
        super().__init__(
            handler, hostname=cfg.hostname, ident="ESMTP smtp_fixture", data_size_limit=DATA_LIMIT,
            enable_SMTPUTF8=True, decode_data=False,
            # With --smtps the socket is TLS already: no STARTTLS to offer, and AUTH needs no further TLS.
            tls_context=None if cfg.smtps else tls_context,
            auth_require_tls=tls_context is not None and not cfg.smtps, **auth_kwargs)
        self.cfg, self.spool, self.faults = cfg, handler.spool, handler.faults
        self.spool.conns += 1
        self.conn_id, self.peer, self.captured, self._replies, self._gone = self.spool.conns, None, None, [], False
        self.over_cap = False
        # Wrap every command so it is logged with its reply code, and so the STARTTLS gate uses the
        # enhanced status code (aiosmtpd 1.4's own require_starttls replies without "5.7.0").
        for name, method in list(self._smtp_methods.items()):
            self._smtp_methods[name] = self._instrument(name, method)

    @property
    def is_tls(self):
        return bool(self.cfg.smtps or self._tls_protocol)

    def _instrument(self, name, method):
        @functools.wraps(method)
        async def run(arg):
            self._replies, self.captured = [], None
            rcpt_tos = list(self.envelope.rcpt_tos) if name == "DATA" else None
            try:
                if self.cfg.starttls == "required" and not self.is_tls and name not in BEFORE_TLS:
                    await self.push("530 5.7.0 Must issue a STARTTLS command first")
                else:
                    await method(arg)
            finally:  # also runs when the client vanishes mid-command
                self._log_command(name, arg, rcpt_tos)
        return run

    def _log_command(self, name, arg, rcpt_tos):
        # 3xx replies (354 to DATA, 334 AUTH challenges) are intermediate: no final reply means code null.
        reply = self._replies[-1] if self._replies and not self._replies[-1].startswith("3") else None
        code = int(reply[:3]) if reply and reply[:3].isdigit() else None
        fields = {"code": code, "reply": reply, "tls": self.is_tls}
        if name == "AUTH":  # never log the credentials that may follow the mechanism
            fields.update(mechanism=(arg or "").split(" ")[0] or None, ok=code == 235,
                          user=self.session.auth_data if code == 235 else None)
        else:
            fields["arg"] = arg
        if name == "DATA":
            fields.update(rcpt_tos=rcpt_tos, seq=self.captured)
        self.spool.event(self.conn_id, name.lower(), **fields)

    async def push(self, status):
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        self._replies.append(text)
        await super().push(status)
        if text.startswith("421") and self.transport is not None:
            self.transport.close()  # RFC 5321 3.8: after 421 the server closes the channel

    def drop(self):
        """Close the connection without a reply and abandon the command being handled."""
        if self.transport is not None:
            self.transport.close()
        # aiosmtpd treats CancelledError as "connection gone": _handle_client closes its writer and ends.
        raise asyncio.CancelledError()

    def connection_made(self, transport):
        first = self.transport is None  # aiosmtpd calls this again after STARTTLS with the TLS transport
        super().connection_made(transport)
        if first:
            self.over_cap = len(ACTIVE) >= MAX_CONNECTIONS  # decided on arrival, so the first 64 get in
            ACTIVE.add(self)
            peer = transport.get_extra_info("peername") or ("?", 0)
            self.peer = "%s:%s" % peer[:2]

    def connection_lost(self, error):
        if not self._gone:
            self._gone = True
            ACTIVE.discard(self)
            self.spool.event(self.conn_id, "disconnect")
        super().connection_lost(error)

    async def _handle_client(self):
        # Runs once per connection, before aiosmtpd sends its 220 greeting.
        self.spool.event(self.conn_id, "connect", peer=self.peer, tls=self.is_tls)
        try:
            if self.over_cap:
                reply = "421 4.7.0 Too many connections, try again later"
            else:
                reply = await self.faults.check(self, "greeting")
            if reply:
                await self.push(reply)
                self.spool.event(self.conn_id, "greeting", code=int(reply[:3]) if reply[:3].isdigit() else None,
                                 reply=reply)
                if self.transport is not None:
                    self.transport.close()
                return
        except ConnectionError:
            return
        await super()._handle_client()


def make_certificate(workdir, hostname):
    """Self-signed server certificate that is also its own trust anchor (pass it as the CA file)."""
    names = {"DNS:localhost", "IP:127.0.0.1"}
    try:
        names.add("IP:%s" % ipaddress.ip_address(hostname))
    except ValueError:
        names.add("DNS:%s" % hostname)
    config = os.path.join(workdir, "openssl.cnf")
    with open(config, "w") as f:
        f.write("[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n"
                "[dn]\nCN = localhost\n"
                "[ext]\nbasicConstraints = critical, CA:FALSE\n"
                "keyUsage = critical, digitalSignature, keyEncipherment\n"
                "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n"
                "subjectAltName = %s\n" % ", ".join(sorted(names)))
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-config", config, "-keyout", key, "-out", cert],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return cert, key


async def serve(cfg, workdir):
    loop = asyncio.get_running_loop()
    # Keep asyncio's complaints (e.g. a client failing the TLS handshake) in the log, never fatal.
    loop.set_exception_handler(lambda _loop, ctx: log.warning("asyncio: %s", ctx.get("message")))
    cert, key = make_certificate(workdir, cfg.hostname)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    use_tls = cfg.smtps or cfg.starttls != "off"
    spool = Spool(cfg.spool)
    handler = Handler(cfg, spool, Faults(cfg.faults))
    server = await loop.create_server(lambda: FixtureSMTP(cfg, handler, tls if use_tls else None),
                                      host="127.0.0.1", port=cfg.port, ssl=tls if cfg.smtps else None)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port, "cafile": cert, "pid": os.getpid()}), flush=True)
    log.info("listening on 127.0.0.1:%d (%s)", port, {**vars(cfg), "auth": cfg.auth and "***"})

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    while not stop.is_set():  # also stop if the test process died without killing us
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except asyncio.TimeoutError:
            if os.getppid() != parent:
                log.info("parent process gone; exiting")
                break
    server.close()
    for conn in list(ACTIVE):
        if conn.transport is not None:
            conn.transport.close()
    await asyncio.sleep(0.2)  # let the closes go out


def main():
    # A parent that blocks SIGTERM/SIGINT in the thread that spawns us (Swift Testing's worker threads do) passes that
    # mask on; unblock them, or the test's terminate() would never stop this server.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    p = argparse.ArgumentParser(description="SMTP server fixture for circulate's tests")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--spool", required=True)
    p.add_argument("--starttls", choices=["required", "offered", "off"], default="offered")
    p.add_argument("--smtps", action="store_true")
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--faults", metavar="FILE")
    p.add_argument("--hostname", default="localhost")
    cfg = p.parse_args()
    if cfg.auth and ":" not in cfg.auth:
        p.error("--auth takes USER:PASS")
    if cfg.smtps:
        cfg.starttls = "off"
    os.makedirs(cfg.spool, exist_ok=True)
    # Log to a file, not stderr: a test harness that never reads our stderr pipe must not stall the server.
    logging.basicConfig(filename=os.path.join(cfg.spool, "fixture.log"), level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's per-command chatter
    warnings.simplefilter("ignore")  # e.g. aiosmtpd's "AUTH without TLS" warning for --starttls off
    workdir = tempfile.mkdtemp(prefix="smtp-fixture-")
    try:
        asyncio.run(serve(cfg, workdir))
    except subprocess.CalledProcessError as e:
        sys.exit("smtp_fixture: openssl failed: %s" % e.stderr.decode(errors="replace"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
