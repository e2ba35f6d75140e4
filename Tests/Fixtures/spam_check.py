#!/usr/bin/env python3
"""Runs messages composed by circulate through SpamAssassin offline and reports what fired.

Usage:  python3 spam_check.py [--as-composed] FILE...

Each FILE holds one message exactly as circulate hands it to the SMTP relay. All files go through ONE
`spamassassin -L` process (Debian's spamassassin package; -L: local tests only, so no DNS blocklists, no
Razor/Pyzor/DCC and nothing else that needs the network), with this configuration added on the command line:

  required_score 5.0          SpamAssassin's stock threshold, stated so a site's local.cf cannot move it
  use_bayes 0, bayes_auto_learn 0, use_auto_welcomelist 0, use_txrep 0
                              nothing learned from earlier runs (or from these messages) can change a score
  report_safe 0               a spam verdict annotates the message instead of wrapping it, so every result has
                              the same shape
  add_header all Circulate-Result ...
                              the verdict, score and every rule with its score, one header per message

(-e is not used: with several messages in one run its exit code speaks for the last one only; each message's own
verdict is read from its result field instead. One process for all files because SpamAssassin takes a second or
two to load its rules.)

The rules are the ones the installed SpamAssassin uses: the rule set Debian ships in /usr/share/spamassassin, or a
newer one if `sa-update` has ever been run (/var/lib/spamassassin/<version>/), plus the site's /etc/spamassassin.
The script reads the directories SpamAssassin reports it used. Preferences are read from and written to a temporary
folder only (HOME points there, -x), so the run leaves nothing behind and reads no one's ~/.spamassassin.

For each file, in the order given, it prints ONE line: a JSON object with sorted keys, pure ASCII, with these keys:

  file                  the path as given
  score                 SpamAssassin's total score
  required              the threshold (5.0)
  is_spam               SpamAssassin's own verdict (score >= required)
  rules                 every rule that fired, as {"name", "score", "family"}, in SpamAssassin's order; family is
                        "header", "mime", "body" (anything else: body, rawbody, full, uri, HTML tests) or "unknown"
  header_or_mime_rules  the names of the fired rules whose family is "header" or "mime" and whose score is not
                        below zero (see below)
  unknown_rules         the names of fired rules with no definition in the rule files (none is expected)

Exit status: 0 when every message is ham and fires no header or MIME rule and no unknown rule; 1 otherwise; 2 on a
usage error or when SpamAssassin cannot be run or its output cannot be matched to the files.

How a fired rule is classified (from its definition in the rule files SpamAssassin loaded, never from its name
alone, because names are only a convention):
  header  defined with `header` or `mimeheader`: a test on a header field, including the header eval tests of the
          HeaderEval and RelayEval plugins (missing or malformed fields, forged or missing Received, Message-ID,
          Date, From/To/Subject formats, list headers).
  mime    defined with `body`, `rawbody` or `full` as an eval of a function the MIMEEval plugin registers
          (check_for_mime, check_for_mime_html, check_for_mime_html_only, check_mime_multipart_ratio,
          check_msg_parse_flags, check_qp_ratio, check_base64_length, check_ma_non_text, ...; read from the
          installed MIMEEval.pm), or any rule whose name contains "MIME" (e.g. HTML_MIME_NO_HTML_TAG, an HTML test
          about the MIME part).
  meta    a meta rule takes the family of the rules it needs to be TRUE (followed recursively): "header" if any of
          them is a header rule, else "mime" if any is a MIME rule, else "body". Rules it needs to be false (under
          an odd number of "!") are exemptions, e.g. TVD_SPACE_RATIO is a body test that does not fire when the
          Subject is UTF-8 B-encoded, and do not make it a header rule. A meta built only from negations (e.g.
          NO_RECEIVED is !__HAS_RCVD) takes the family of those, since the absence is the finding.
Rules with a negative score are SpamAssassin's evidence FOR a message being ham (e.g. a well-formed mailing list's
headers); they are listed under "rules" but do not count as header or MIME problems. A rule scored 0 or slightly
above ("informational") does count.

Honesty about the test environment: a message straight out of circulate has never passed through an MTA, so it has
no Received header; SpamAssassin then fires NO_RECEIVED and NO_RELAYS, header rules that cannot fire on real mail.
Unless --as-composed is given, the copy handed to SpamAssassin (never the file) gets the two Received lines the real
path adds: the relay's, accepting the message from circulate's host over authenticated submission, and the
recipient's MX's, accepting it from the relay, one and two seconds after the message's own Date (a relay that
queues the message first would add a later time; the rules that compare those dates only fire after hours or days).
The hosts are example.org names; the addresses are from 198.18.0.0/15 (RFC 2544 benchmarking space, routed
nowhere), which SpamAssassin treats as ordinary public addresses. That choice matters both ways: private addresses
would make every relay trusted and fire ALL_TRUSTED (-1.0), lowering the score; the RFC 5737 documentation ranges
(192.0.2.0/24 and friends) fire RCVD_ILLEGAL_IP (+1.3), a header rule about the test's own trace, not our output.
Nothing else is added or changed: every other rule sees exactly what circulate wrote.

Needs Python 3.8 or later and nothing outside the standard library.
"""

import datetime
import email
import email.policy
import email.utils
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

RESULT_FIELD = "X-Spam-Circulate-Result"
CONFIGURATION = [
    "required_score 5.0",
    "use_bayes 0",
    "bayes_auto_learn 0",
    "ifplugin Mail::SpamAssassin::Plugin::AWL",
    "use_auto_welcomelist 0",
    "endif",
    "ifplugin Mail::SpamAssassin::Plugin::TxRep",
    "use_txrep 0",
    "endif",
    "report_safe 0",
    # _HEADER(Message-ID)_ lets each result be matched to its file, not just counted.
    "add_header all Circulate-Result spam=_YESNO_ score=_SCORE_ required=_REQD_ tests=_TESTSSCORES(,)_ "
    "msgid=_HEADER(Message-ID)_",
]
RULE_DEFINITION_RE = re.compile(r"^\s*(header|mimeheader|body|rawbody|full|uri|meta)\s+([A-Za-z0-9_]+)\s+(.*)$")
EVAL_RE = re.compile(r"eval:\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(")
RULE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
META_TOKEN_RE = re.compile(r"!=|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[()!]|[^\sA-Za-z0-9_()!]+")
RULES_DIR_RE = re.compile(r'config: using "([^"]+)" for (?:default|site) rules dir')
RESULT_VALUE_RE = re.compile(
    r"^spam=(?P<spam>\S+) score=(?P<score>\S+) required=(?P<required>\S+) tests=(?P<tests>.*?) msgid=(?P<msgid>.*)$")
REGISTER_EVAL_RE = re.compile(r'register_eval_rule\(\s*"([A-Za-z_][A-Za-z0-9_]*)"')


class UsageError(Exception):
    pass


def with_relay_trace(data):
    """The message as a recipient's SpamAssassin sees it: two Received lines, relay's and MX's, before it."""
    head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    parsed = email.message_from_bytes(head, policy=email.policy.compat32)
    try:
        sent = email.utils.parsedate_to_datetime(parsed["Date"])
    except (TypeError, ValueError):
        sent = None
    if sent is None or sent.tzinfo is None:
        sent = datetime.datetime.now(datetime.timezone.utc)
    recipient = email.utils.parseaddr(parsed.get("To", ""))[1]
    destination = "\r\n\tfor <%s>" % recipient if recipient and recipient.isascii() else ""

    def stamp(seconds):
        return email.utils.format_datetime(sent + datetime.timedelta(seconds=seconds))

    trace = (
        "Received: from relay.example.org (relay.example.org [198.18.0.25])\r\n"
        "\tby mx.example.org (Postfix) with ESMTPS id 4Hq7Xw2Lk9z1xYv%s; %s\r\n"
        "Received: from lists.example.org (lists.example.org [198.18.0.10])\r\n"
        "\t(Authenticated sender: circulate)\r\n"
        "\tby relay.example.org (Postfix) with ESMTPSA id 4Hq7Xv6Tm3z9wQp%s; %s\r\n"
        % (destination, stamp(2), destination, stamp(1))
    )
    return trace.encode("ascii") + data


def message_id(data):
    head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    value = email.message_from_bytes(head, policy=email.policy.compat32).get("Message-ID", "")
    return " ".join(value.split())


def run_spamassassin(paths, as_composed):
    """[{"spam", "score", "required", "tests", "msgid"}] per file, and the rule directories SpamAssassin used."""
    executable = shutil.which("spamassassin") or "/usr/bin/spamassassin"
    if not os.access(executable, os.X_OK):
        raise UsageError("spamassassin is not installed (Debian package spamassassin; scripts/deps test installs it)")
    with tempfile.TemporaryDirectory(prefix="circulate-spam-check-") as folder:
        copies = []
        ids = []
        for number, path in enumerate(paths):
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                raise UsageError("%s: %s" % (path, error.strerror))
            ids.append(message_id(data))
            copy = os.path.join(folder, "%04d.eml" % number)
            with open(copy, "wb") as handle:
                handle.write(data if as_composed else with_relay_trace(data))
            copies.append(copy)
        prefs = os.path.join(folder, "user_prefs")
        open(prefs, "w").close()
        command = [executable, "-L", "-x", "-p", prefs, "-D", "config"]
        command += ["--cf=" + line for line in CONFIGURATION]
        environment = dict(os.environ, HOME=folder)
        process = subprocess.run(command + copies, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    output = process.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    errors = process.stderr.decode("utf-8", "replace")
    # Each message comes back with the result field added to its header section; the messages themselves never
    # contain a line starting with this field name.
    pattern = re.compile(r"^%s:(.*(?:\n[ \t].*)*)" % re.escape(RESULT_FIELD), re.MULTILINE)
    values = [" ".join(match.group(1).split()) for match in pattern.finditer(output)]
    if len(values) != len(paths):
        problems = [line for line in errors.splitlines() if "dbg:" not in line]
        raise UsageError("spamassassin returned %d results for %d files (exit status %d): %s"
                         % (len(values), len(paths), process.returncode, " | ".join(problems[-5:])))
    results = []
    for path, expected_id, value in zip(paths, ids, values):
        match = RESULT_VALUE_RE.match(value)
        if not match:
            raise UsageError("%s: cannot read spamassassin's result %r" % (path, value))
        got_id = match.group("msgid").strip()
        if expected_id and got_id != expected_id:
            raise UsageError("%s: spamassassin's result is for Message-ID %r, not %r" % (path, got_id, expected_id))
        fields = match.groupdict()
        # SpamAssassin folds the long field after commas in the rule list; rule names and scores hold no spaces.
        fields["tests"] = re.sub(r"\s+", "", fields["tests"])
        results.append(fields)
    directories = []
    for directory in RULES_DIR_RE.findall(errors):
        if directory not in directories:
            directories.append(directory)
    if not directories:
        raise UsageError("spamassassin did not say which rule directories it used")
    return results, directories


def mime_eval_functions():
    """The eval functions the installed MIMEEval plugin registers (read from its source, so new ones count)."""
    process = subprocess.run(
        ["perl", "-MMail::SpamAssassin::Plugin::MIMEEval", "-e",
         'print $INC{"Mail/SpamAssassin/Plugin/MIMEEval.pm"}'],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    path = process.stdout.decode("utf-8", "replace").strip()
    if process.returncode != 0 or not path:
        raise UsageError("cannot find SpamAssassin's MIMEEval plugin")
    with open(path, encoding="utf-8", errors="replace") as handle:
        functions = set(REGISTER_EVAL_RE.findall(handle.read()))
    if not functions:
        raise UsageError("found no eval functions in %s" % path)
    return functions


def rule_definitions(directories):
    """{rule name: [(kind, definition text), ...]} from every .cf file in the directories."""
    definitions = {}
    for directory in directories:
        for path in sorted(glob.glob(os.path.join(directory, "*.cf"))):
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    match = RULE_DEFINITION_RE.match(line)
                    if match:
                        definitions.setdefault(match.group(2), []).append((match.group(1), match.group(3)))
    return definitions


def meta_components(expression):
    """(positive, negated): the rule names a meta expression needs true, and those it needs false.

    A name is negated when an odd number of "!" apply to it, directly or to a parenthesised group around it.
    """
    positive, negated = [], []
    stack = [False]  # whether each open group is negated
    pending = False  # a "!" waiting for the next name or group
    for token in META_TOKEN_RE.findall(expression):
        if token == "!":
            pending = not pending
        elif token == "(":
            stack.append(stack[-1] != pending)
            pending = False
        elif token == ")":
            if len(stack) > 1:
                stack.pop()
            pending = False
        elif RULE_NAME_RE.fullmatch(token) and not token[0].isdigit():
            (negated if stack[-1] != pending else positive).append(token)
            pending = False
        else:
            pending = False
    return positive, negated


class Classifier:
    def __init__(self, definitions, mime_functions):
        self.definitions = definitions
        self.mime_functions = mime_functions
        self.cache = {}

    def family(self, name, visiting=()):
        if name in self.cache:
            return self.cache[name]
        definitions = self.definitions.get(name)
        if not definitions:
            return "unknown"
        families = set()
        for kind, text in definitions:
            if kind in ("header", "mimeheader"):
                families.add("header")
            elif kind == "meta":
                positive, negated = meta_components(text)
                for part in positive or negated:
                    if part in self.definitions and part != name and part not in visiting:
                        families.add(self.family(part, visiting + (name,)))
            else:
                functions = EVAL_RE.findall(text)
                families.add("mime" if any(f in self.mime_functions for f in functions) else "body")
        if "MIME" in name.upper() and "header" not in families:
            families.add("mime")
        result = "header" if "header" in families else "mime" if "mime" in families else "body"
        if not visiting:
            self.cache[name] = result
        return result


def parse_tests(text):
    """[(name, score)] from _TESTSSCORES(,)_: "NAME=1.2,OTHER=-0.001", or "none"."""
    tests = []
    for item in text.split(","):
        name, _, score = item.partition("=")
        if name and name != "none":
            tests.append((name, float(score)))
    return tests


def verdicts(paths, fields_list, classifier):
    """One result object per file; raises UsageError if SpamAssassin's numbers do not add up."""
    results = []
    for path, fields in zip(paths, fields_list):
        try:
            score = float(fields["score"])
            required = float(fields["required"])
            tests = parse_tests(fields["tests"])
        except ValueError:
            raise UsageError("%s: cannot read spamassassin's result %r" % (path, fields))
        rules = [{"name": name, "score": value, "family": classifier.family(name)} for name, value in tests]
        # _SCORE_ is the total rounded to one decimal; a rule lost in parsing would show as a difference.
        if abs(sum(rule["score"] for rule in rules) - score) > 0.051:
            raise UsageError("%s: the rules' scores do not add up to %s: %r" % (path, score, fields))
        results.append({
            "file": path,
            "score": score,
            "required": required,
            "is_spam": fields["spam"] == "Yes",
            "rules": rules,
            "header_or_mime_rules": [r["name"] for r in rules if r["family"] in ("header", "mime") and r["score"] >= 0],
            "unknown_rules": [r["name"] for r in rules if r["family"] == "unknown"],
        })
    return results


def main(arguments):
    as_composed = False
    if arguments and arguments[0] == "--as-composed":
        as_composed = True
        arguments = arguments[1:]
    if not arguments or any(argument.startswith("-") for argument in arguments):
        sys.stderr.write(__doc__)
        return 2
    try:
        fields_list, directories = run_spamassassin(arguments, as_composed)
        classifier = Classifier(rule_definitions(directories), mime_eval_functions())
        results = verdicts(arguments, fields_list, classifier)
    except UsageError as error:
        sys.stderr.write("spam_check.py: %s\n" % error)
        return 2
    status = 0
    for result in results:
        if result["is_spam"] or result["header_or_mime_rules"] or result["unknown_rules"]:
            status = 1
        sys.stdout.write(json.dumps(result, sort_keys=True, ensure_ascii=True) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
