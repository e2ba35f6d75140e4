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
    }

    /// See `Community`.
    public var community = Community()
    /// See `Storage`.
    public var storage = Storage()
    /// See `Outbox`.
    public var outbox = Outbox()
    /// See `Secrets`.
    public var secrets = Secrets()
    /// See `Consent`.
    public var consent = Consent()
    /// See `SMTP`; nil when no relay is configured.
    public var smtp: SMTP?
    /// The file these settings came from; nil when only the built-in defaults are in use.
    public var sourceFile: String?

    /// The built-in defaults.
    public init() {}
}
