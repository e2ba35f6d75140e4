#!/usr/bin/python3
"""What a coordinator would otherwise write: a plain Python mail merge (email.message + smtplib).

Usage: mail_merge.py HOST PORT COUNT BODY.md
Sends COUNT personalised text+HTML messages over one SMTP connection and prints messages/second as JSON.
"""
import html
import json
import smtplib
import sys
import time
from email.message import EmailMessage


def main():
    host, port, count, body_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    body = open(body_file, encoding="utf-8").read()
    start = time.perf_counter()
    with smtplib.SMTP(host, port) as smtp:
        for i in range(count):
            msg = EmailMessage()
            msg["From"] = "Riverside CoP <cop@example.org>"
            msg["To"] = f"Member {i} <member{i}@example.org>"
            msg["Subject"] = "December update"
            msg["List-Unsubscribe"] = f"<mailto:cop@example.org?subject=unsubscribe%20{i}>"
            msg.set_content(f"Dear Member {i},\n\n{body}\n\nTo stop receiving these emails, reply and tell us.")
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n"))
            msg.add_alternative(f"<html><body><p>Dear Member {i},</p>{paragraphs}</body></html>", subtype="html")
            smtp.send_message(msg)
    elapsed = time.perf_counter() - start
    print(json.dumps({"messages": count, "seconds": elapsed, "rate": count / elapsed}))


if __name__ == "__main__":
    main()
