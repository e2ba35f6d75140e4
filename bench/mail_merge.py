#!/usr/bin/python3
"""What a coordinator would otherwise write: a plain Python mail merge (email.message + smtplib).

Usage: mail_merge.py HOST PORT COUNT BODY.md [--connections N]
Sends COUNT personalised text+HTML messages over N SMTP connections (one thread each, default 1) and prints
messages/second as JSON.
"""
import argparse
import html
import json
import smtplib
import threading
import time
from email.message import EmailMessage


def merge(host, port, body, numbers, failures):
    try:
        with smtplib.SMTP(host, port) as smtp:
            for i in numbers:
                msg = EmailMessage()
                msg["From"] = "Riverside CoP <cop@example.org>"
                msg["To"] = f"Member {i} <member{i}@example.org>"
                msg["Subject"] = "December update"
                msg["List-Unsubscribe"] = f"<mailto:cop@example.org?subject=unsubscribe%20{i}>"
                msg.set_content(f"Dear Member {i},\n\n{body}\n\nTo stop receiving these emails, reply and tell us.")
                paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n"))
                msg.add_alternative(f"<html><body><p>Dear Member {i},</p>{paragraphs}</body></html>", subtype="html")
                smtp.send_message(msg)
    except Exception as error:  # reported by the main thread: a merge that failed has no rate
        failures.append(error)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("count", type=int)
    p.add_argument("body")
    p.add_argument("--connections", type=int, default=1)
    a = p.parse_args()
    body = open(a.body, encoding="utf-8").read()
    failures = []
    threads = [threading.Thread(target=merge, args=(a.host, a.port, body, range(k, a.count, a.connections), failures))
               for k in range(a.connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"mail merge failed: {failures[0]}")
    print(json.dumps({"messages": a.count, "connections": a.connections, "seconds": elapsed,
                      "rate": a.count / elapsed}))


if __name__ == "__main__":
    main()
