#!/usr/bin/env python3
"""Independent checker for messages composed by circulate's MessageComposer.

Usage:  python3 check_message.py FILE...

Each FILE holds one message exactly as it would be handed to the SMTP relay. For each file, in the order given, the
script prints ONE line: a JSON object with sorted keys, pure ASCII (other characters as \\u escapes, so no
character in a value can break the line), with these keys:

  file             the path as given
  ok               true when "violations" is empty
  violations       list of strings "<code>: <detail>"; any entry makes the exit status 1. Codes:
                     read-error, not-crlf-terminated, bare-cr, bare-lf, nul-byte, line-too-long (> 998 octets),
                     dot-line (a line starting with "."), from-line (a line starting with "From "),
                     header-syntax, header-count, forbidden-header (Cc/Bcc), to-count, header-8bit,
                     date-format, message-id-format, mime-version, encoded-word, parser-defect,
                     transfer-encoding, charset, qp-line-too-long, qp-trailing-whitespace, qp-invalid-escape,
                     base64-line-too-long, base64-invalid, boundary-in-content,
                   and for text/html parts (read with a tag stack over Python's html.parser, which does not check
                   balance by itself): html-unbalanced (an end tag that closes nothing open, or a tag left open),
                   html-nesting (a block inside <p>, which browsers would silently split), html-unknown-tag (a tag
                   outside the set circulate's layouts and Markdown produce), html-attribute (an on* handler),
                   html-unsafe-url (an href or src that is not http, https or mailto), html-unescaped (a "<" or "&"
                   in text that is not a tag or a character reference)
  warnings         list of strings "<code>: <detail>" that do not fail the check:
                     long-header-line (> 78 octets, allowed when a line cannot be folded shorter)
  smtputf8         true when the header section holds raw UTF-8 (allowed only in address fields; RFC 6532)
  max_line_length  the longest line in octets, without its CRLF
  headers          [[name, value], ...] in order, values unfolded and RFC 2047-decoded
  addresses        {"from": [[display_name, addr_spec]], "reply_to": [...], "to": [...]} (empty lists if absent)
  subject          the decoded Subject, or null if absent
  structure        the MIME tree, e.g. "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)"
  parts            one object per leaf part, in order, with keys
                     content_type, params (Content-Type parameters except boundary, decoded), transfer_encoding,
                     disposition (or null), filename (RFC 2231 filename* if present, else filename; or null),
                     filename_fallback (the plain filename= when filename* is also present; else null),
                     size and sha256 (of the decoded bytes), text (decoded str for text/* parts; else null),
                     html_text (for text/html: the text a reader sees, character references decoded; else null),
                     html_urls (for text/html: every href and src in order; else null).
                     Line breaks in "text" are exactly as decoded (CRLF for circulate's output).

Exit status: 0 when every file is ok, 1 when any file has a violation, 2 on a usage error.

Python's own parser (email, policy.default) checks structure and decoding; the byte-level rules it does not enforce
(CRLF only, line lengths, dot and From lines, header counts, encoded-word sizes) are checked here directly. A
Content-Disposition holding both filename= and filename*= draws a "duplicate parameter" defect from Python; that pair
is circulate's deliberate RFC 2231 + ASCII-fallback form and is not reported as a violation. Display names are decoded
with the whitespace between adjacent encoded-words removed first, as RFC 2047 §6.2 requires and Python's parser
(cpython gh-128110) does not. Needs Python 3.8 or later and nothing outside the standard library.
"""

import base64
import binascii
import email
import email.message
import email.policy
import email.utils
import hashlib
import html.parser
import json
import re
import sys

ADDRESS_FIELDS = {"from", "to", "reply-to", "cc", "bcc", "sender"}
ONCE = ["date", "from", "to", "subject", "message-id", "mime-version"]
DATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
DOT_ATOM = ATEXT + r"+(?:\." + ATEXT + r"+)*"
MESSAGE_ID_RE = re.compile(r"^<" + DOT_ATOM + "@" + DOT_ATOM + ">$")
FIELD_NAME_RE = re.compile(r"^[!-9;-~]+$")
ENCODED_WORD_RE = re.compile(r"=\?([^?\s]*)\?([^?\s]*)\?([^?\s]*)\?=")
ENCODED_WORD = r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?="
ADJACENT_ENCODED_WORDS_RE = re.compile("(" + ENCODED_WORD + r")[ \t]*(?:\r\n)?[ \t]+(?=" + ENCODED_WORD + ")")
QUOTED_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
BASE64_LINE_RE = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
QP_ESCAPE_RE = re.compile(r"=(?![0-9A-F]{2})")
# What the layouts and cmark-gfm's rendering of Markdown produce; anything else in a message is a mistake to look at.
HTML_KNOWN_TAGS = {
    "html", "head", "meta", "title", "body", "div", "span", "p", "br", "hr", "a", "strong", "b", "em", "i", "del",
    "s", "code", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "img", "table", "thead",
    "tbody", "tr", "th", "td", "sup", "sub", "small",
}
HTML_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HTML_BLOCK_TAGS = {"div", "p", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr"}
HTML_URL_SCHEMES = ("http:", "https:", "mailto:")
# A "<" that starts no tag, comment or declaration, and an "&" that starts no character reference.
HTML_STRAY_LT_RE = re.compile(r"<(?![A-Za-z/!])")
HTML_STRAY_AMP_RE = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")


def check_file(path):
    result = {
        "file": path,
        "ok": False,
        "violations": [],
        "warnings": [],
        "smtputf8": False,
        "max_line_length": 0,
        "headers": [],
        "addresses": {"from": [], "reply_to": [], "to": []},
        "subject": None,
        "structure": None,
        "parts": [],
    }
    violations = result["violations"]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        violations.append("read-error: %s" % error.strerror)
        return result

    check_bytes(data, result)
    head, separator, _ = data.partition(b"\r\n\r\n")
    if not separator:
        violations.append("header-syntax: no blank line after the header section")
    check_header_section(head, result)
    check_mime(data, result)
    result["ok"] = not violations
    return result


def check_bytes(data, result):
    violations = result["violations"]
    if not data.endswith(b"\r\n"):
        violations.append("not-crlf-terminated: the message does not end with CRLF")
    bare_cr = re.search(rb"\r(?!\n)", data)
    if bare_cr:
        violations.append("bare-cr: at offset %d" % bare_cr.start())
    bare_lf = re.search(rb"(?<!\r)\n", data)
    if bare_lf:
        violations.append("bare-lf: at offset %d" % bare_lf.start())
    if b"\x00" in data:
        violations.append("nul-byte: at offset %d" % data.index(b"\x00"))
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    longest = 0
    for number, line in enumerate(lines, 1):
        longest = max(longest, len(line))
        if len(line) > 998:
            violations.append("line-too-long: line %d has %d octets" % (number, len(line)))
        if line.startswith(b"."):
            violations.append("dot-line: line %d starts with '.'" % number)
        if line.startswith(b"From "):
            violations.append("from-line: line %d starts with 'From '" % number)
    result["max_line_length"] = longest


def check_header_section(head, result):
    """Raw header lines: syntax, counts, 8-bit use, encoded-words, Date and Message-ID formats."""
    violations = result["violations"]
    warnings = result["warnings"]
    fields = []  # [name, raw unfolded value bytes]
    for number, line in enumerate(head.split(b"\r\n"), 1):
        if len(line) > 78:
            warnings.append("long-header-line: header line %d has %d octets" % (number, len(line)))
        if line[:1] in (b" ", b"\t"):
            if not fields:
                violations.append("header-syntax: line %d continues no field" % number)
                continue
            if not line.strip(b" \t"):
                violations.append("header-syntax: line %d is whitespace only" % number)
            fields[-1][1] += line
            continue
        name, colon, value = line.partition(b":")
        if not colon or not FIELD_NAME_RE.match(name.decode("latin-1")):
            violations.append("header-syntax: line %d is not a header field" % number)
            continue
        fields.append([name.decode("ascii"), value])

    counts = {}
    for name, value in fields:
        lower = name.lower()
        counts[lower] = counts.get(lower, 0) + 1
        if any(byte >= 0x80 for byte in value):
            result["smtputf8"] = True
            if lower not in ADDRESS_FIELDS:
                violations.append("header-8bit: %s contains non-ASCII bytes" % name)
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            violations.append("header-8bit: %s is not valid UTF-8" % name)
            continue
        check_encoded_words(name, text, lower in ADDRESS_FIELDS, violations)
        text = text.strip(" \t")
        if lower == "date" and not DATE_RE.match(text):
            violations.append("date-format: %r" % text)
        elif lower == "date":
            try:
                email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                violations.append("date-format: %r does not parse" % text)
        if lower == "message-id" and not MESSAGE_ID_RE.match(text):
            violations.append("message-id-format: %r" % text)
        if lower == "mime-version" and text != "1.0":
            violations.append("mime-version: %r" % text)
    for name in ONCE:
        if counts.get(name, 0) != 1:
            violations.append("header-count: %s appears %d times" % (name, counts.get(name, 0)))
    if counts.get("reply-to", 0) > 1:
        violations.append("header-count: reply-to appears %d times" % counts["reply-to"])
    for name in ("cc", "bcc"):
        if name in counts:
            violations.append("forbidden-header: %s" % name)

    # Decoded values come from Python's parser, fed text so that RFC 6532 UTF-8 addresses decode as UTF-8.
    try:
        text = head.decode("utf-8") + "\r\n\r\n"
    except UnicodeDecodeError:
        return
    original = email.message_from_string(text, policy=email.policy.default)
    # Python up to at least 3.13 keeps the whitespace between adjacent encoded-words in a display name, which RFC 2047
    # §6.2 says to ignore (cpython gh-128110); values are read from a copy with that whitespace removed, defects from
    # the original.
    parsed = email.message_from_string(ADJACENT_ENCODED_WORDS_RE.sub(r"\1", text), policy=email.policy.default)
    for name, value in parsed.items():
        result["headers"].append([name, str(value)])
    for key, header in (("from", "from"), ("reply_to", "reply-to"), ("to", "to")):
        value = parsed[header]
        if value is not None:
            result["addresses"][key] = [[a.display_name, a.addr_spec] for a in value.addresses]
            for defect in original[header].defects:
                # RFC 6532 permits UTF-8 local parts; Python reports them as RFC 5322 defects.
                if type(defect).__name__ != "NonASCIILocalPartDefect":
                    violations.append("parser-defect: %s: %s" % (header, defect))
    if parsed["subject"] is not None:
        result["subject"] = str(parsed["subject"])
    if parsed["to"] is not None and len(result["addresses"]["to"]) != 1:
        violations.append("to-count: To holds %d addresses" % len(result["addresses"]["to"]))


def check_encoded_words(name, text, structured, violations):
    for match in ENCODED_WORD_RE.finditer(text):
        word, charset, encoding, payload = match.group(0), match.group(1), match.group(2), match.group(3)
        if len(word) > 75:
            violations.append("encoded-word: %s has a %d-character encoded-word" % (name, len(word)))
        if charset.lower() != "utf-8":
            violations.append("encoded-word: %s uses charset %r" % (name, charset))
        try:
            if encoding.upper() == "B":
                raw = base64.b64decode(payload, validate=True)
            elif encoding.upper() == "Q":
                raw = binascii.a2b_qp(payload.replace("_", " "))
            else:
                violations.append("encoded-word: %s uses encoding %r" % (name, encoding))
                continue
            # Each encoded-word must decode on its own (RFC 2047 §5: no character split across words).
            raw.decode("utf-8")
        except (binascii.Error, ValueError):
            violations.append("encoded-word: %s has an encoded-word that does not decode alone: %s" % (name, word))
    if structured:
        for quoted in QUOTED_STRING_RE.findall(text):
            if "=?" in quoted:
                violations.append("encoded-word: %s has an encoded-word inside a quoted string" % name)


def check_mime(data, result):
    violations = result["violations"]
    message = email.message_from_bytes(data, policy=email.policy.default)
    result["structure"] = structure(message)
    boundaries = [part.get_boundary() for part in message.walk() if part.is_multipart() and part.get_boundary()]
    for part in message.walk():
        for defect in part.defects:
            violations.append("parser-defect: %s: %s" % (part.get_content_type(), defect))
        if part.is_multipart():
            continue
        result["parts"].append(describe_leaf(part, boundaries, violations))


def structure(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(), ",".join(structure(child) for child in part.iter_parts()))
    return part.get_content_type()


def describe_leaf(part, boundaries, violations):
    content_type = part.get_content_type()
    encoding = part.get("content-transfer-encoding", "7bit").strip().lower()
    raw = part.get_payload(decode=False)
    if isinstance(raw, str):
        raw_lines = raw.split("\r\n")
    else:
        raw_lines = []
    if encoding == "quoted-printable":
        check_quoted_printable(content_type, raw_lines, violations)
    elif encoding == "base64":
        check_base64(content_type, raw_lines, violations)
    elif encoding != "7bit":
        violations.append("transfer-encoding: %s uses %r" % (content_type, encoding))
    for boundary in boundaries:
        if any(line.startswith("--" + boundary) for line in raw_lines):
            violations.append("boundary-in-content: %s contains --%s" % (content_type, boundary))

    decoded = part.get_payload(decode=True) or b""
    params = {}
    for key, value in (part["content-type"].params.items() if part["content-type"] else []):
        if key != "boundary":
            params[key] = value
    filename, fallback = filenames(part, violations)
    leaf = {
        "content_type": content_type,
        "params": params,
        "transfer_encoding": encoding,
        "disposition": part.get_content_disposition(),
        "filename": filename,
        "filename_fallback": fallback,
        "size": len(decoded),
        "sha256": hashlib.sha256(decoded).hexdigest(),
        "text": None,
        "html_text": None,
        "html_urls": None,
    }
    if part.get_content_maintype() == "text" and part.get_content_disposition() is None:
        charset = part.get_content_charset()
        if charset != "utf-8":
            violations.append("charset: %s declares %r, not utf-8" % (content_type, charset))
        try:
            leaf["text"] = decoded.decode("utf-8")
        except UnicodeDecodeError as error:
            violations.append("charset: %s is not valid UTF-8 (%s)" % (content_type, error))
        if content_type == "text/html" and leaf["text"] is not None:
            leaf["html_text"], leaf["html_urls"] = check_html(leaf["text"], violations)
    return leaf


class HTMLStructure(html.parser.HTMLParser):
    """A stack of open elements: html.parser reports tags one by one and checks nothing about how they nest."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.problems = []
        self.text = []
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.element(tag, attrs)
        if tag not in HTML_VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.element(tag, attrs)
        if tag not in HTML_VOID_TAGS:
            self.problems.append("html-unbalanced: <%s/> is not a void element" % tag)

    def element(self, tag, attrs):
        if tag not in HTML_KNOWN_TAGS:
            self.problems.append("html-unknown-tag: <%s>" % tag)
        if tag in HTML_BLOCK_TAGS and "p" in self.stack:
            self.problems.append("html-nesting: <%s> inside <p>" % tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append("html-attribute: %s on <%s>" % (name, tag))
            if name in ("href", "src"):
                self.urls.append(value or "")
                if not (value or "").strip().lower().startswith(HTML_URL_SCHEMES):
                    self.problems.append("html-unsafe-url: %s=%r on <%s>" % (name, value, tag))
        if tag in ("br", "p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "div"):
            self.text.append("\n")
        elif tag in ("td", "th"):
            self.text.append(" ")

    def handle_endtag(self, tag):
        if tag in HTML_VOID_TAGS:
            self.problems.append("html-unbalanced: </%s> ends a void element" % tag)
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append("html-unbalanced: </%s> while <%s> is open" % (tag, self.stack[-1] if self.stack else ""))
            if tag in self.stack:
                del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag):]
        else:
            self.stack.pop()
        if tag in ("p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "div"):
            self.text.append("\n")

    def handle_data(self, data):
        if "title" not in self.stack:
            self.text.append(data)


def check_html(text, violations):
    """The text/html part's structure; returns its visible text and its URLs."""
    parser = HTMLStructure()
    parser.feed(text)
    parser.close()
    if parser.stack:
        parser.problems.append("html-unbalanced: <%s> never closed" % "><".join(parser.stack))
    # Outside tags only: comments and the doctype are skipped, and attribute values are checked by the parser above.
    outside = re.sub(r"<!--.*?-->|<![^>]*>|<[A-Za-z/][^>]*>", "", text, flags=re.S)
    for pattern in (HTML_STRAY_LT_RE, HTML_STRAY_AMP_RE):
        stray = pattern.search(outside)
        if stray:
            parser.problems.append("html-unescaped: %r in %r" % (stray.group(0), outside[max(0, stray.start() - 20):stray.end() + 20]))
    violations.extend("%s" % problem for problem in parser.problems)
    return "".join(parser.text), parser.urls


def filenames(part, violations):
    """(filename, fallback): filename* wins when present; the plain filename= is then reported as the fallback."""
    header = part.get("content-disposition")
    if header is None:
        return None, None
    plain = None
    extended = None
    # The compat32 parameter parser keeps both filename= and filename*=; policy.default keeps only the first.
    legacy = email.message.Message()
    for name, value in part.raw_items():
        if name.lower() == "content-disposition":
            legacy["Content-Disposition"] = value
    for key, value in legacy.get_params(header="content-disposition", failobj=[])[1:]:
        if key.lower() != "filename":
            continue
        if isinstance(value, tuple):
            extended = email.utils.collapse_rfc2231_value(value)
        else:
            plain = email.utils.unquote(value)
    for defect in header.defects:
        if "duplicate" in str(defect) and plain is not None and extended is not None:
            continue  # circulate's deliberate filename= + filename*= pair
        violations.append("parser-defect: content-disposition: %s" % defect)
    if extended is not None:
        return extended, plain
    return plain, None


def check_quoted_printable(content_type, lines, violations):
    for number, line in enumerate(lines, 1):
        if len(line) > 76:
            violations.append("qp-line-too-long: %s line %d has %d characters" % (content_type, number, len(line)))
        if line.endswith((" ", "\t")):
            violations.append("qp-trailing-whitespace: %s line %d" % (content_type, number))
        if QP_ESCAPE_RE.search(line[:-1] if line.endswith("=") else line):
            violations.append("qp-invalid-escape: %s line %d" % (content_type, number))
        if any(ord(character) > 0x7E or (ord(character) < 0x20 and character != "\t") for character in line):
            violations.append("qp-invalid-escape: %s line %d has an unencoded octet" % (content_type, number))


def check_base64(content_type, lines, violations):
    joined = []
    for number, line in enumerate(lines, 1):
        if len(line) > 76:
            violations.append("base64-line-too-long: %s line %d has %d characters" % (content_type, number, len(line)))
        if not BASE64_LINE_RE.match(line):
            violations.append("base64-invalid: %s line %d" % (content_type, number))
        joined.append(line)
    try:
        base64.b64decode("".join(joined), validate=True)
    except (binascii.Error, ValueError):
        violations.append("base64-invalid: %s does not decode" % content_type)


def main(arguments):
    if not arguments or arguments[0] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    sys.stdout.reconfigure(encoding="utf-8")
    status = 0
    for path in arguments:
        result = check_file(path)
        if not result["ok"]:
            status = 1
        sys.stdout.write(json.dumps(result, sort_keys=True, ensure_ascii=True) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
