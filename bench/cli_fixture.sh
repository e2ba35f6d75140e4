#!/bin/bash
# Builds a realistic circulate instance for timing the read commands (`bench/cli_timings.py`), the way a coordinator
# would: `init`, a sign-in sheet of 10,000 consenting members, ten announcements to all of them (100,000 delivery
# rows) written to the Maildir outbox by `circulate serve`, a past session with attendance and apologies (whose
# thank-you the daemon queues), an upcoming session with invitations, and a report with some responses.
#
# The states end up mixed as in real use: nine announcements sent, the tenth scheduled a week ahead (~10,000 queued),
# thank-yous, invitations and report covers sent, and 49 people who left before the daemon ran (their messages
# cancelled): 101,050 delivery rows in all.
#
# Usage: bench/cli_fixture.sh CIRCULATE_BINARY FOLDER [MEMBERS]
# FOLDER must not exist yet. Takes a few minutes on 2 cores (the daemon writes ~100,000 messages).
set -euo pipefail

binary=$(realpath "$1")
folder=$2
members=${3:-10000}
[ -e "$folder" ] && { echo "cli_fixture: $folder exists; give a new folder" >&2; exit 64; }
mkdir -p "$folder"
cd "$folder"
# The built-in defaults: database var/circulate.sqlite, Maildir outbox var/outbox, key var/instance.key.
c() { "$binary" "$@"; }
python=/usr/bin/python3

c init >/dev/null

# The sheet: every 20th person a key influencer (the reports' audience), every 50th in the core group.
$python - "$members" >members.csv <<'EOF'
import sys
n = int(sys.argv[1])
print("Name,Email,Consent,Tags")
for i in range(n):
    tag = "key-influencer" if i % 20 == 0 else ("core-group" if i % 50 == 1 else "member")
    print(f"Member Number {i},member{i}@example.org,yes,{tag}")
EOF
c member import members.csv --source "benchmark list" >/dev/null

cat >update.md <<'EOF'
# News from the Riverside CoP

Thank you all for coming to the last session. Here is what we agreed, and what comes next.

- The discharge checklist goes to the board in January.
- [The report](https://example.org/reports/discharge.pdf) is out.
EOF

# A session two days ago (its thank-you is due, so the daemon queues it) and one next month.
past=$(date -d "2 days ago" "+%Y-%m-%d 10:00")
future=$(date -d "30 days" "+%Y-%m-%d 10:00")
later=$(date -d "7 days" "+%Y-%m-%d 09:00")
c topic add "Hospital discharge" >/dev/null
c session add --topic "Hospital discharge" --start "$past" --length 2h --venue "Riverside Centre" \
    --address "14 Mill Lane, Stoke-on-Trent" --facilitator "Dr Priya Example" >/dev/null
c session add --topic "Hospital discharge" --title "After the first night" --start "$future" --length 2h \
    --venue "Riverside Centre" >/dev/null
$python - >attended.csv <<'EOF'
print("Name,Email,Consent")
for i in range(100, 400):
    print(f"Member Number {i},member{i}@example.org,yes")
EOF
$python - >apologies.csv <<'EOF'
print("Name,Email,Consent")
for i in range(400, 450):
    print(f"Member Number {i},member{i}@example.org,yes")
EOF
c session attendance 1 attended.csv >/dev/null
c session attendance 1 apologies.csv --apologies >/dev/null
c session notes 1 update.md >/dev/null
c session invite 2 --role core-group >/dev/null
for i in 450 451 452 453 454; do c session rsvp 2 "member$i@example.org" yes >/dev/null 2>&1 || true; done

# Ten announcements to everyone: nine now, one a week ahead (left queued).
for n in 1 2 3 4 5 6 7 8 9; do
    c send --subject "Update $n" --body update.md --stream monthly-update --again >/dev/null 2>&1
done
c send --subject "Update 10" --body update.md --stream monthly-update --again --at "$later" >/dev/null 2>&1

c report distribute --title "Hospital discharge: five changes that would help" --topic "Hospital discharge" \
    --link https://example.org/reports/hospital-discharge.pdf >/dev/null 2>&1
for i in 0 20 40 60 80 100 120 140 160 180; do
    c report responded "member$i@example.org" --note "meeting booked" >/dev/null
done

# Some people leave: their messages still queued are cancelled.
for i in $(seq 1000 37 2800); do
    c unsubscribe "member$i@example.org" --source "replied 'please remove me'" >/dev/null
done

# The daemon writes everything due to the outbox; stop it when nothing due is left.
c serve >serve.log 2>&1 &
daemon=$!
due() {
    sqlite3 -readonly var/circulate.sqlite "
        SELECT (SELECT count(*) FROM delivery WHERE state IN ('queued', 'sending', 'deferred')
                  AND next_attempt_at <= strftime('%Y-%m-%d %H:%M:%f', 'now'))
             + (SELECT count(*) FROM mailing WHERE state = 'scheduled' AND send_after <= strftime('%Y-%m-%d %H:%M:%f', 'now'))
             + (SELECT count(*) FROM session WHERE state = 'scheduled' AND followed_up_at IS NULL
                  AND follow_up_at <= strftime('%Y-%m-%d %H:%M:%f', 'now'))"
}
sleep 5
while [ "$(due)" != 0 ]; do
    kill -0 $daemon 2>/dev/null || { echo "cli_fixture: circulate serve stopped early; see $folder/serve.log" >&2; exit 1; }
    sleep 2
done
kill -TERM $daemon
wait $daemon || true
sqlite3 -readonly var/circulate.sqlite "SELECT state, count(*) FROM delivery GROUP BY state" | tr '\n' ' '
echo
