import Foundation
import Testing
@testable import CirculateCore

@Suite("Configuration")
struct ConfigurationLoaderTests {
    @Test("with no file anywhere, the built-in defaults work for a first run")
    func defaults() throws {
        let scratch = try Scratch()
        let config = try ConfigurationLoader.load(explicitPath: nil, environment: [:], workingDirectory: scratch.url.path)
        #expect(config.storage.database == "var/circulate.sqlite")
        #expect(config.outbox.maildir == "var/outbox")
        #expect(config.community.timeZone.identifier == "Europe/London")
        #expect(config.smtp == nil)
        #expect(config.sourceFile == nil)
    }

    @Test("the example configuration in config/ parses and documents every key the loader knows")
    func example() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("config/circulate.example.toml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        _ = try ConfigurationLoader.parse(text, file: path)
        // Every key the loader knows, including the commented-out ones, appears in its section of the example.
        let sections = text.components(separatedBy: "\n[").dropFirst().map { "[" + $0 }
            + text.components(separatedBy: "\n# [").dropFirst().map { "[" + $0 }
        for (section, keys) in ConfigurationLoader.knownKeys {
            let block = sections.first { $0.hasPrefix("[\(section)]") } ?? ""
            #expect(!block.isEmpty, "example lacks [\(section)]")
            for key in keys {
                #expect(block.contains("\(key) ="), "example lacks \(section).\(key)")
            }
        }
    }

    @Test("explicit --config that does not exist is an error, not a silent fallback")
    func missingExplicit() {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(explicitPath: "/nonexistent/circulate.toml", environment: [:])
        }
    }

    @Test("$CIRCULATE_CONFIG is used when --config is absent")
    func environmentVariable() throws {
        let scratch = try Scratch()
        let file = scratch.path("c.toml")
        try "[community]\nname = \"Riverside CoP\"\n".write(toFile: file, atomically: true, encoding: .utf8)
        let config = try ConfigurationLoader.load(explicitPath: nil, environment: ["CIRCULATE_CONFIG": file])
        #expect(config.community.name == "Riverside CoP")
        #expect(config.sourceFile == file)
    }

    @Test("invalid values name the key, the value and what is allowed", arguments: [
        ("[community]\ntimezone = \"Europe/Londn\"", ["community.timezone", "Europe/Londn", "IANA"]),
        ("[community]\nname = 42", ["community.name", "42", "string"]),
        ("[storage]\ndatabse = \"x\"", ["storage.databse", "unknown key", "database"]),
        ("[smtpp]\nurl = \"x\"", ["smtpp", "unknown", "smtp"]),
        ("[smtp]\nurl = \"http://relay.example.org\"", ["smtp.url", "http://relay.example.org", "smtp://"]),
        ("[smtp]\nurl = \"smtp://user:pw@relay.example.org\"", ["smtp.url", "password"]),
        ("[smtp]\nurl = \"smtp://relay.example.org:587\"\nusername = \"cop\"", ["password_file", "password_env"]),
        ("[secrets]\ninstance_key_env = \"NOT A NAME\"", ["secrets.instance_key_env", "NOT A NAME"]),
        ("[community\nname = \"x\"", ["line 1"]),
        ("[updates]\nschedule = \"FREQ=MONTHLY;BYDAY=8TU\"", ["updates.schedule", "BYDAY=8TU", "ordinal"]),
        ("[sessions]\nthank_you_time = \"25:00\"", ["sessions.thank_you_time", "25:00"]),
        ("[reports]\nattachment_limit = \"80MB\"", ["reports.attachment_limit", "80MB", "50MB"]),
        ("[reports]\naudience = \"key influencer!\"", ["reports.audience"]),
        ("[coordinator]\nemail = \"morgan at example.org\"", ["coordinator.email", "morgan at example.org"]),
    ])
    func invalid(toml: String, mentions: [String]) {
        do {
            _ = try ConfigurationLoader.parse(toml, file: "test.toml")
            Issue.record("accepted \(toml)")
        } catch {
            for word in mentions { #expect(error.description.contains(word), "\(error.description) lacks \(word)") }
            #expect(!error.description.contains("pw@"), "the message must not echo a password")
        }
    }

    @Test("the workflow sections are read: coordinator, sessions, the update slot, reports, templates")
    func workflows() throws {
        let config = try ConfigurationLoader.parse("""
            [coordinator]
            name = "Morgan Ellis"
            email = "morgan.ellis@example.org"
            [sessions]
            thank_you_days_after = 0
            thank_you_time = "17:30"
            hold_for_notes = true
            [updates]
            schedule = "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=12"
            remind_days_before = 3
            [reports]
            attachment_limit = "2MB"
            follow_up_after = "10d"
            audience = "board"
            [templates]
            directory = "/etc/circulate/templates"
            """, file: "test.toml")
        #expect(config.coordinatorName == "Morgan Ellis" && config.coordinatorAddress == "morgan.ellis@example.org")
        #expect(config.followUpRule == FollowUpRule(daysAfter: 0, time: TimeOfDay(hour: 17, minute: 30), timeZone: config.community.timeZone))
        #expect(config.sessions.holdForNotes)
        #expect(config.updates.schedule?.description == "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=12;BYMINUTE=0")
        #expect(config.updates.remindDaysBefore == 3)
        #expect(config.reports.attachmentLimit == 2_000_000 && config.reports.followUpAfter == 10 * 86_400)
        #expect(config.reports.audience == ["board"] && config.templates.directory == "/etc/circulate/templates")
        #expect(try ConfigurationLoader.parse("[updates]\nschedule = \"off\"", file: "t").updates.schedule == nil)
        // Without [coordinator], reminders go to the list's reply-to address, else the list's own.
        #expect(try ConfigurationLoader.parse("[list]\nreply_to = \"help@example.org\"", file: "t").coordinatorAddress == "help@example.org")
    }

    @Test("a relay configuration is read")
    func smtp() throws {
        let config = try ConfigurationLoader.parse("""
            [smtp]
            url = "smtps://relay.example.org:465"
            username = "cop@example.org"
            password_file = "/run/credentials/circulate.service/smtp-password"
            """, file: "t.toml")
        #expect(config.smtp?.url.absoluteString == "smtps://relay.example.org:465")
        #expect(config.smtp?.passwordFile == "/run/credentials/circulate.service/smtp-password")
    }

    @Test("the mailbox is off without [inbox], and an [inbox] section is read with its defaults")
    func inbox() throws {
        #expect(try ConfigurationLoader.parse("[list]\naddress = \"cop@example.org\"", file: "t").inbox == nil)
        let config = try ConfigurationLoader.parse("""
            [inbox]
            url = "imaps://imap.example.org:993/Lists/Community"
            username = "cop@example.org"
            oauth2_token_file = "/run/credentials/circulate.service/imap-token"
            poll_interval = "2m"
            maximum_message_size = "1MB"
            messages_per_poll = 20
            retention_days = 30
            """, file: "t.toml")
        let inbox = try #require(config.inbox)
        #expect(inbox.folder == "Lists/Community")
        #expect(inbox.username == "cop@example.org")
        #expect(inbox.oauth2TokenFile == "/run/credentials/circulate.service/imap-token")
        #expect(inbox.passwordFile == nil)
        #expect(inbox.pollInterval == 120)
        #expect(inbox.maximumMessageSize == 1_000_000)
        #expect(inbox.messagesPerPoll == 20)
        #expect(inbox.retentionDays == 30)
        #expect(inbox.processedFolder == "circulate-processed")
        #expect(inbox.unmatchedFolder == "circulate-for-coordinator")
        #expect(!inbox.verp, "VERP is off unless asked for")
        let plain = try ConfigurationLoader.parse("""
            [inbox]
            url = "imap://127.0.0.1:1143/"
            username = "cop"
            password_env = "IMAP_PW"
            allow_plaintext = true
            verp = true
            """, file: "t.toml")
        #expect(plain.inbox?.folder == "INBOX")
        #expect(plain.inbox?.allowPlaintext == true)
        #expect(plain.inbox?.verp == true)
    }

    @Test("a wrong [inbox] names the key and what to do, and never echoes a password from the URL", arguments: [
        ("[inbox]\nusername = \"cop\"\npassword_file = \"/pw\"", ["inbox.url", "missing"]),
        ("[inbox]\nurl = \"pop3://mail.example.org\"\nusername = \"cop\"\npassword_file = \"/pw\"", ["inbox.url", "imaps://"]),
        ("[inbox]\nurl = \"imaps://cop:pw@mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"", ["inbox.url", "password"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\npassword_file = \"/pw\"", ["inbox.username"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"", ["inbox.password_file", "inbox.oauth2_token_file"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\noauth2_token_file = \"/t\"", ["both", "keep one"]),
        ("[inbox]\nurl = \"imap://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\nallow_plaintext = true", ["inbox.allow_plaintext", "mail.example.org"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\npoll_interval = \"2s\"", ["inbox.poll_interval", "10s"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\nprocessed_folder = \"a\\\"b\"", ["inbox.processed_folder"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\nunmatched_folder = \"inbox\"", ["three different folders"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\nmaximum_message_size = \"80MB\"", ["inbox.maximum_message_size", "50MB"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\nmessages_per_poll = 0", ["inbox.messages_per_poll"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\nfolder = \"x\"", ["inbox.folder", "unknown key"]),
        ("[inbox]\nurl = \"imaps://mail.example.org/INBOX\"\nusername = \"cop\"\npassword_file = \"/pw\"\nverp = \"yes\"", ["inbox.verp"]),
    ])
    func invalidInbox(toml: String, mentions: [String]) {
        do {
            _ = try ConfigurationLoader.parse(toml, file: "test.toml")
            Issue.record("accepted \(toml)")
        } catch {
            for word in mentions { #expect(error.description.contains(word), "\(error.description) lacks \(word)") }
            #expect(!error.description.contains("pw@"), "the message must not echo a password")
        }
    }

    @Test("secrets come from the environment or a file and never print themselves")
    func secrets() throws {
        let scratch = try Scratch()
        let file = scratch.path("pw")
        try "s3cret-from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try Secret.load(environmentVariable: "PW", file: file, environment: [:], what: "password")
        #expect(fromFile?.bytes == Array("s3cret-from-file".utf8))
        let fromEnv = try Secret.load(environmentVariable: "PW", file: file, environment: ["PW": "s3cret-env"], what: "password")
        #expect(fromEnv?.bytes == Array("s3cret-env".utf8))
        #expect("\(String(describing: fromEnv))".contains("s3cret") == false)
        #expect(fromEnv?.description == "<redacted>")
    }

    @Test("the instance key accepts hex or base64 of 32 bytes and rejects anything weaker")
    func instanceKey() throws {
        let hex = InstanceKey.generateText()
        #expect(hex.count == 64)
        _ = try InstanceKey(secret: Secret(Array(hex.utf8)))
        _ = try InstanceKey(secret: Secret(Array(Data(repeating: 1, count: 32).base64EncodedString().utf8)))
        #expect(throws: SecretError.self) { try InstanceKey(secret: Secret(Array("too-short".utf8))) }
        #expect(InstanceKey.generateText() != hex)
    }

    @Test("numbers that overflow, are infinite or NaN, or are past any sane size are refused with the key, never a crash",
          arguments: [
        ("[reports]\nattachment_limit = \"1e400MB\"", "reports.attachment_limit"),
        ("[reports]\nattachment_limit = \"1e17MB\"", "reports.attachment_limit"),
        ("[reports]\nattachment_limit = \"infKB\"", "reports.attachment_limit"),
        ("[reports]\nattachment_limit = \"nanMB\"", "reports.attachment_limit"),
        ("[reports]\nattachment_limit = \"0.4B\"", "reports.attachment_limit"),
        ("[reports]\nattachment_limit = \"99999999999999999999\"", "reports.attachment_limit"),
        ("[delivery]\nretry_initial = \"infd\"", "delivery.retry_initial"),
        ("[delivery]\nretry_maximum = \"1e300d\"", "delivery.retry_maximum"),
        ("[delivery]\ngive_up_after = 9223372036854775807", "delivery.give_up_after"),
        ("[delivery]\nlate_limit = \"1e20s\"", "delivery.late_limit"),
        ("[delivery]\nrelay_pause = \"nanm\"", "delivery.relay_pause"),
        ("[sessions]\ndefault_length = \"infinityh\"", "sessions.default_length"),
        ("[reports]\nfollow_up_after = \"99999999999999999999d\"", "reports.follow_up_after"),
        ("[smtp]\nurl = \"smtp://relay.example.org:587\"\nconnect_timeout = \"1e20s\"", "smtp.connect_timeout"),
        // Numbers TOML itself cannot hold: the parser's message gains the key it was reading.
        ("[delivery]\nconnections = 99999999999999999999", "delivery.connections"),
        ("[delivery]\n\nbounce_limit = 1e400", "delivery.bounce_limit"),
    ])
    func hugeNumbers(toml: String, key: String) {
        do {
            _ = try ConfigurationLoader.parse(toml, file: "test.toml")
            Issue.record("accepted \(toml)")
        } catch {
            #expect(error.description.contains(key), "\(error.description) lacks \(key)")
        }
    }

    @Test("the largest sensible durations and sizes are still accepted")
    func largeButSane() throws {
        let config = try ConfigurationLoader.parse("""
            [delivery]
            give_up_after = "3650d"
            late_limit = 315360000
            [reports]
            attachment_limit = "50MB"
            """, file: "t.toml")
        #expect(config.delivery.giveUpAfter == 3650 * 86_400 && config.delivery.lateLimit == 3650 * 86_400)
        #expect(config.reports.attachmentLimit == 50_000_000)
    }

    @Test("a user name or password inside smtp.url is never echoed in an error", arguments: [
        "ftp://cop:hunter2@relay.example.org",
        "smtp://cop:hun/ter2@relay.example.org",
        "smtp://cop:hunter2@relay.example.org:99999",
        "smtp://cop:hunter2@relay\\nexample.org",
        "smtp://cop:hunter2@",
        "smtps://cop:hunter2@relay.example.org/x?y#z",
        "cop:hunter2@relay.example.org",
        "smtp://cop:hunter2@@relay.example.org",
        "smtp://cop@relay.example.org:0",
    ])
    func urlUserinfoMasked(url: String) {
        do {
            _ = try ConfigurationLoader.parse("[smtp]\nurl = \"\(url)\"", file: "test.toml")
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.description.contains("smtp.url"), "\(error.description)")
            #expect(!error.description.contains("hunter2") && !error.description.contains("hun/") && !error.description.contains("cop"),
                    "\(error.description)")
        }
    }

    @Test("the relay settings never echo a user name or password from the URL either")
    func relayUserinfoMasked() throws {
        for text in ["ftp://cop:hunter2@relay.example.org", "smtp://cop:hunter2@relay.example.org/path", "smtp://cop:hunter2@"] {
            guard let url = URL(string: text) else { continue }
            do {
                _ = try SMTPRelayConfiguration(url: url, ehloDomain: "example.org")
                Issue.record("accepted \(text)")
            } catch {
                #expect(!error.description.contains("hunter2") && !error.description.contains("cop"), "\(error.description)")
            }
        }
    }
}
