import Foundation

/// Everything circulate reads from its configuration file, with the defaults that make a first run work.
///
/// Relative paths are resolved against the working directory (the systemd unit sets one).
public struct Configuration: Sendable, Equatable {
    /// The community: its name and its clock.
    public struct Community: Sendable, Equatable {
        /// Shown in messages and exports.
        public var name = "Our Community of Practice"
        /// The time zone sessions and slots are in; daylight saving follows it.
        public var timeZone = TimeZone(identifier: "Europe/London") ?? .gmt
    }

    /// Where the data lives.
    public struct Storage: Sendable, Equatable {
        /// The SQLite database file.
        public var database = "var/circulate.sqlite"
        /// The erasure journal: keyed hashes of erased addresses, kept outside the database so that a restore applies
        /// erasures made after its backup. In the state folder (the key's own folder is read-only under systemd).
        public var erasureJournal = "var/erasures.journal"
    }

    /// Where messages go when no SMTP relay is configured.
    public struct Outbox: Sendable, Equatable {
        /// A Maildir folder (cur/ new/ tmp/ are created as needed).
        public var maildir = "var/outbox"
    }

    /// Secrets: never in the file itself, only where to find them.
    public struct Secrets: Sendable, Equatable {
        /// File holding the instance key (hex or base64 of 32 bytes); `circulate init` creates it with mode 0600.
        public var instanceKeyFile = "var/instance.key"
        /// Environment variable that, when set, holds the instance key instead.
        public var instanceKeyEnv: String? = "CIRCULATE_INSTANCE_KEY"
    }

    /// Defaults for consent records.
    public struct Consent: Sendable, Equatable {
        /// The version of the consent wording currently on the sign-in sheet and sign-up form.
        public var wordingVersion = "1"
        /// The join page's wording (`consent.wording_file`); nil: no join page. Its version is `wordingVersion`.
        public var wording: ConsentWording?
    }

    /// How the list presents itself in messages.
    public struct List: Sendable, Equatable {
        /// The From address (and, unless `bounceAddress` is set, the envelope sender).
        public var address = "community@example.org"
        /// The display name in From; defaults to the community's name.
        public var fromName: String?
        /// Where replies go, if not to `address`.
        public var replyTo: String?
        /// The envelope sender that receives bounces; defaults to `address`.
        public var bounceAddress: String?
        /// The domain for Message-IDs, List-Id and EHLO; defaults to the domain of `address`.
        public var domain: String?
        /// The RFC 2919 List-Id; defaults to "<slug of community name>.<domain>".
        public var listID: String?
        /// A public https base URL where circulate serves unsubscribe links (a later release serves it).
        public var publicBaseURL: URL?
    }

    /// How the queue is worked.
    public struct Delivery: Sendable, Equatable {
        /// What to do with a message whose fate is unknown (the connection broke after the whole message was sent).
        public enum InDoubtPolicy: String, Sendable, Equatable, CaseIterable {
            /// Send it again with the same Message-ID (a duplicate is better than a loss; clients merge by Message-ID).
            case resend
            /// Count it as sent.
            case assumeSent = "assume-sent"
        }
        /// Parallel SMTP connections (each on its own thread).
        public var connections = 2
        /// Rate-limit windows, all enforced at once.
        public var rateLimits: [RateWindow] = []
        /// The first retry delay after a temporary failure; doubles with each attempt.
        public var retryInitial: TimeInterval = 300
        /// The longest retry delay.
        public var retryMaximum: TimeInterval = 4 * 3600
        /// Give up on a temporary failure this long after the message was queued (RFC 5321 suggests 4-5 days).
        public var giveUpAfter: TimeInterval = 4 * 86_400
        /// What to do with an in-doubt transfer.
        public var inDoubt: InDoubtPolicy = .resend
        /// With `resend`: how many times one message in doubt is sent again before it is counted as probably
        /// delivered (a restart that finds it in flight counts as one).
        public var inDoubtResends = 1
        /// A scheduled send that is up to this late still goes out; later than that it is held for the coordinator.
        public var lateLimit: TimeInterval = 12 * 3600
        /// Permanent failures in a row after which a member is marked bounced.
        public var bounceLimit = 3
        /// The first pause after a relay-wide problem (421, authentication, TLS); doubles while it lasts, up to 30 minutes.
        public var relayPause: TimeInterval = 60
    }

    /// The organisation's SMTP relay; absent means the Maildir outbox.
    public struct SMTP: Sendable, Equatable {
        /// `smtp://host:587` (STARTTLS required) or `smtps://host:465`.
        public var url: URL
        /// The AUTH user name, if the relay needs one.
        public var username: String?
        /// File holding the password (e.g. a systemd credential).
        public var passwordFile: String?
        /// Environment variable holding the password.
        public var passwordEnv: String?
        /// A CA bundle for a relay with a private certificate authority.
        public var caFile: String?
        /// Whether the relay accepts SMTPUTF8 (needed for addresses with a non-ASCII local part).
        public var smtputf8 = false
        /// Plain SMTP without TLS; allowed only for a loopback relay (a local Postfix).
        public var allowPlaintext = false
        /// Seconds to wait for a connection.
        public var connectTimeout: TimeInterval = 30
    }

    /// The list's mailbox, read over IMAP for bounce reports and unsubscribe emails; absent means nothing is read.
    public struct Inbox: Sendable, Equatable {
        /// `imaps://host:993/INBOX` (TLS from the start) or `imap://host:143/INBOX` (STARTTLS required); the path is
        /// the folder read.
        public var url: URL
        /// The IMAP login name.
        public var username: String
        /// File holding the password (Dovecot, most hosts, Google Workspace with an app password).
        public var passwordFile: String?
        /// Environment variable holding the password.
        public var passwordEnv: String?
        /// File holding an OAuth2 access token, read again at each poll (XOAUTH2; Microsoft 365 refuses passwords).
        public var oauth2TokenFile: String?
        /// A CA bundle for a server with a private certificate authority.
        public var caFile: String?
        /// Plain IMAP without TLS; allowed only for a server on this machine.
        public var allowPlaintext = false
        /// How often the mailbox is read.
        public var pollInterval: TimeInterval = 300
        /// Where handled messages are moved.
        public var processedFolder = "circulate-processed"
        /// Where messages are moved for the coordinator: anything circulate does not act on.
        public var unmatchedFolder = "circulate-for-coordinator"
        /// Days a handled message stays in the processed folder before it is deleted.
        public var retentionDays = 90
        /// Larger messages are not downloaded; they go to the unmatched folder.
        public var maximumMessageSize = 5_000_000
        /// At most this many messages are handled in one poll; the rest wait for the next.
        public var messagesPerPoll = 100
        /// Seconds to wait for the server to answer a connection.
        public var connectTimeout: TimeInterval = 30
        /// Whether each message's envelope sender carries its delivery's bounce token (VERP). Off by default: Microsoft
        /// 365 and Gmail require the envelope sender to be the account's own address or rewrite it.
        public var verp = false

        /// Creates settings for a mailbox; the rest keep their defaults.
        public init(url: URL, username: String) {
            self.url = url
            self.username = username
        }

        /// The folder read: the URL's path, or INBOX.
        public var folder: String {
            let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
            return path.isEmpty ? "INBOX" : path
        }
    }

    /// The person who runs the community's mailings: signs report covers, gets reminders.
    public struct Coordinator: Sendable, Equatable {
        /// Their name, as it signs report cover notes; defaults to the list's From name.
        public var name: String?
        /// Where reminders and notices go, and where replies to report covers go; defaults to list.reply_to or list.address.
        public var email: String?
    }

    /// How sessions are followed up.
    public struct Sessions: Sendable, Equatable {
        /// The thank-you goes this many days after the session's end (its local day)...
        public var thankYouDaysAfter = 1
        /// ...at this local time.
        public var thankYouTime = TimeOfDay(hour: 10, minute: 0)
        /// Hold every thank-you until the session's summary notes are added (a session can also ask for it).
        public var holdForNotes = false
        /// A session's length when `session add` is given only a start.
        public var defaultLength: TimeInterval = 2 * 3600
        /// Also send a "we missed you" to people invited who neither came nor sent apologies.
        public var thankNoShows = false
        /// Remind people invited this many days before a session (0: no reminder)...
        public var reminderDaysBefore = 2
        /// ...at this local time.
        public var reminderTime = TimeOfDay(hour: 9, minute: 0)
        /// A second reminder on the morning of the session, at this local time; nil for none.
        public var reminderOnTheDay: TimeOfDay?
    }

    /// The monthly update's slot.
    public struct Updates: Sendable, Equatable {
        /// When the update goes out (an RRULE subset); nil turns the slot off.
        public var schedule: RecurrenceRule? = try? RecurrenceRule(parsing: "FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9;BYMINUTE=0")
        /// Remind the coordinator this many days before a slot with nothing queued; 0 turns reminders off.
        public var remindDaysBefore = 5
    }

    /// How reports are distributed.
    public struct Reports: Sendable, Equatable {
        /// The largest file sent as an attachment; above it, a link is needed.
        public var attachmentLimit = 10_000_000
        /// When recipients who have not responded get the one follow-up.
        public var followUpAfter: TimeInterval = 14 * 86_400
        /// The roles/tags a report goes to when `--audience` is not given.
        public var audience = ["key-influencer", "board"]
    }

    /// The web pages: one-click unsubscribe and the operator's health and metrics. Off unless `listen` is set.
    public struct Web: Sendable, Equatable {
        /// Where the public pages listen (behind an https proxy); nil: no web server.
        public var listen: ListenAddress?
        /// Where `/healthz` and `/metrics` listen, apart from the public pages (behind a proxy every public request
        /// comes from loopback too).
        public var metricsListen = ListenAddress(host: "127.0.0.1", port: 8081)
        /// Addresses of the reverse proxies whose `X-Forwarded-For` names the real client (for rate limits).
        public var trustedProxies: [String] = []
    }

    /// Where the message templates are.
    public struct Templates: Sendable, Equatable {
        /// A folder of *.mustache files; any file missing there is taken from the built-in copies.
        public var directory = "templates"
    }

    /// See `Community`.
    public var community = Community()
    /// See `Coordinator`.
    public var coordinator = Coordinator()
    /// See `Sessions`.
    public var sessions = Sessions()
    /// See `Updates`.
    public var updates = Updates()
    /// See `Reports`.
    public var reports = Reports()
    /// See `Templates`.
    public var templates = Templates()
    /// See `Storage`.
    public var storage = Storage()
    /// See `Outbox`.
    public var outbox = Outbox()
    /// See `Secrets`.
    public var secrets = Secrets()
    /// See `Consent`.
    public var consent = Consent()
    /// See `List`.
    public var list = List()
    /// See `Delivery`.
    public var delivery = Delivery()
    /// See `Web`.
    public var web = Web()
    /// See `SMTP`; nil when no relay is configured.
    public var smtp: SMTP?
    /// See `Inbox`; nil when no mailbox is read.
    public var inbox: Inbox?
    /// The file these settings came from; nil when only the built-in defaults are in use.
    public var sourceFile: String?

    /// The built-in defaults.
    public init() {}

    /// The list's From display name.
    public var fromName: String { list.fromName ?? community.name }
    /// The coordinator's name, for signatures.
    public var coordinatorName: String { coordinator.name ?? fromName }
    /// The coordinator's address, for reminders and replies to report covers.
    public var coordinatorAddress: String { coordinator.email ?? list.replyTo ?? list.address }
    /// When a session ending at some time is followed up.
    public var followUpRule: FollowUpRule {
        FollowUpRule(daysAfter: sessions.thankYouDaysAfter, time: sessions.thankYouTime, timeZone: community.timeZone)
    }
    /// When reminders go before each session.
    public var reminderRule: ReminderRule {
        ReminderRule(daysBefore: sessions.reminderDaysBefore, time: sessions.reminderTime, onTheDay: sessions.reminderOnTheDay,
                     timeZone: community.timeZone)
    }
    /// The domain for Message-IDs, List-Id and EHLO.
    public var domain: String {
        list.domain ?? String(list.address.split(separator: "@").last ?? "example.org").lowercased()
    }
    /// Whether messages offer RFC 8058 one-click unsubscribe: only when something serves the link (the web pages are
    /// on) and people can reach it (a public https address is set).
    public var offersOneClickUnsubscribe: Bool { web.listen != nil && list.publicBaseURL != nil }
    /// The RFC 2919 List-Id value, without angle brackets.
    public var listID: String {
        if let id = list.listID { return id }
        let slug = Tag.slug(community.name).filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        return "\(slug.isEmpty ? "list" : slug).\(domain)"
    }
}

/// One rate-limit window: at most `limit` messages in any `seconds`-long period.
public struct RateWindow: Sendable, Equatable, Codable {
    /// Messages allowed in the window.
    public var limit: Int
    /// The window's length.
    public var seconds: TimeInterval

    /// Creates a window.
    public init(limit: Int, seconds: TimeInterval) {
        self.limit = limit
        self.seconds = seconds
    }

    /// In words: "30/minute", "10000/day".
    public var summary: String {
        switch seconds {
        case 60: "\(limit)/minute"
        case 3600: "\(limit)/hour"
        case 86_400: "\(limit)/day"
        default: "\(limit) per \(Int(seconds)) s"
        }
    }

    /// Known relays' published limits.
    public static func preset(_ name: String) -> [RateWindow]? {
        switch name {
        // Exchange Online: 30 messages a minute and 10,000 recipients a day per mailbox.
        case "microsoft365", "m365", "office365": [RateWindow(limit: 30, seconds: 60), RateWindow(limit: 10_000, seconds: 86_400)]
        // Google Workspace: 2,000 messages a day per user; a per-minute cap keeps bursts polite.
        case "google-workspace", "gmail": [RateWindow(limit: 60, seconds: 60), RateWindow(limit: 2_000, seconds: 86_400)]
        case "none": []
        default: nil
        }
    }
}
