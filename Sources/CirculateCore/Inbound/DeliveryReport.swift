import Foundation

/// What a bounce report says: which message came back, and what happened for each recipient.
///
/// Read from RFC 3464 `multipart/report; report-type=delivery-status` (Postfix, Exim, Exchange and Microsoft 365,
/// Gmail all send it), and, for servers that send plain text, from the returned message's headers quoted in the body.
struct DeliveryReport: Sendable, Equatable {
    /// One recipient's part of the report.
    struct Recipient: Sendable, Equatable {
        /// Final-Recipient (or X-Failed-Recipients), the address without its "rfc822;" type.
        var finalRecipient: String?
        /// Original-Recipient, the address as first given to the server.
        var originalRecipient: String?
        /// failed, delayed, delivered, relayed or expanded.
        var action: String
        /// The RFC 3463 status, e.g. "5.1.1".
        var status: String?
        /// The remote server's words (Diagnostic-Code without its "smtp;" type), if given.
        var diagnostic: String?

        /// Whether this entry is about `address` (compared without case).
        func names(_ address: String) -> Bool {
            let wanted = address.lowercased()
            // A report names an internationalised domain in its ASCII (xn--) form, as the relay saw it: compare keys.
            let key = (try? EmailAddress(address))?.key
            return [finalRecipient, originalRecipient].contains { field in
                guard let field else { return false }
                return field.lowercased() == wanted || (key != nil && (try? EmailAddress(field))?.key == key)
            }
        }
    }

    /// The Message-ID of the message that came back (from the attached original or its headers), without brackets.
    var returnedMessageID: String?
    /// The per-recipient entries.
    var recipients: [Recipient]
    /// Addresses the report was sent to and the returned message's envelope sender: where a VERP bounce token can be.
    var bounceAddresses: [String] = []

    /// Reads a report from a parsed message; nil if it is not a delivery report.
    init?(_ message: MIMEEntity) {
        let type = message.contentType
        if type.value == "multipart/report", type.parameters["report-type"]?.lowercased() == "delivery-status" {
            self.init(standard: message)
        } else if let plain = Self.plainText(message) {
            self = plain
        } else {
            return nil
        }
        bounceAddresses = BounceAddress.candidates(in: message)
    }

    init(returnedMessageID: String?, recipients: [Recipient]) {
        self.returnedMessageID = returnedMessageID
        self.recipients = recipients
    }

    /// RFC 3464: the message/delivery-status part holds a block of per-message fields, then one block per
    /// recipient; the third part is the original (message/rfc822) or its headers (text/rfc822-headers).
    private init(standard message: MIMEEntity) {
        var recipients: [Recipient] = []
        var returned: String?
        var fromStatus: String?
        for part in message.parts {
            let type = part.contentType.value
            if type == "message/delivery-status" || type == "message/global-delivery-status" {
                recipients += Self.recipientBlocks(part.text)
                // Gmail names the returned message in the per-message block too.
                let original = Self.lines(part.text).first { $0.lowercased().hasPrefix("x-original-message-id:") }
                fromStatus = fromStatus ?? original.flatMap { MIMEEntity.messageID(String($0.dropFirst("x-original-message-id:".count))) }
            } else if ["message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers"].contains(type) {
                if let original = part.parts.first { returned = returned ?? MIMEEntity.messageID(original.field("message-id")) }
                if returned == nil { returned = Self.quotedMessageID(in: part.text) }
            }
        }
        if returned == nil { returned = fromStatus }
        if returned == nil {
            // Some servers put the original's headers in the human-readable part only.
            returned = message.parts.lazy.compactMap { Self.quotedMessageID(in: $0.text) }.first
        }
        self.init(returnedMessageID: returned, recipients: recipients)
    }

    /// The per-recipient blocks of a delivery-status body (blank-line separated, the first being per-message).
    static func recipientBlocks(_ text: String) -> [Recipient] {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n")
        var blocks: [[(String, String)]] = []
        var current: [(String, String)] = []
        for line in normalised.components(separatedBy: "\n") {
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                if !current.isEmpty { blocks.append(current); current = [] }
                continue
            }
            if line.first == " " || line.first == "\t", let last = current.popLast() {
                current.append((last.0, last.1 + " " + line.trimmingCharacters(in: .whitespaces)))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            current.append((line[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                            line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if !current.isEmpty { blocks.append(current) }
        var recipients: [Recipient] = []
        for block in blocks.prefix(100) {
            func value(_ name: String) -> String? { block.first { $0.0 == name }?.1 }
            guard let action = value("action")?.lowercased() else { continue }
            let final = value("final-recipient") ?? value("x-actual-recipient")
            let firstWord = action.split(separator: " ").first.map(String.init) ?? action
            recipients.append(Recipient(finalRecipient: final.map(Self.address),
                                        originalRecipient: value("original-recipient").map(Self.address),
                                        action: firstWord, status: value("status").flatMap(Self.statusCode),
                                        diagnostic: value("diagnostic-code").map(Self.withoutType)))
        }
        return recipients
    }

    /// Plain-text bounces (qmail, older Exim and others): a message from the mail system, naming the failed
    /// address (X-Failed-Recipients, or the qmail "<address>:" line) and quoting the original's headers.
    private static func plainText(_ message: MIMEEntity) -> DeliveryReport? {
        let from = (message.field("from") ?? "").lowercased()
        let fromSystem = from.contains("mailer-daemon") || from.contains("postmaster") || from.contains("mail delivery")
        guard fromSystem || message.field("x-failed-recipients") != nil else { return nil }
        let text = message.all.filter { $0.contentType.value.hasPrefix("text/") || $0.contentType.value.hasPrefix("message/") }
            .map(\.text).joined(separator: "\n")
        var failed = message.fields("x-failed-recipients").flatMap { $0.split(separator: ",").map { address(String($0)) } }
        if failed.isEmpty {
            // qmail: "<kim@example.org>:" on a line of its own, followed by the remote server's words.
            for line in Self.lines(text) {
                let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
                if t.hasPrefix("<"), t.hasSuffix(">:"), t.contains("@") { failed.append(String(t.dropFirst().dropLast(2))) }
            }
        }
        if failed.isEmpty { failed = gmailFailedRecipients(text) }
        guard !failed.isEmpty else { return nil }
        let status = firstStatusCode(in: text)
        let recipients = failed.prefix(100).map {
            Recipient(finalRecipient: $0, originalRecipient: nil, action: "failed", status: status,
                      diagnostic: nil)
        }
        return DeliveryReport(returnedMessageID: quotedMessageID(in: text), recipients: Array(recipients))
    }

    /// Gmail's older plain-text notice: "Delivery to the following recipient failed permanently:", then the addresses
    /// indented on lines of their own (only permanent failures: its "has been delayed" notice names none).
    private static func gmailFailedRecipients(_ text: String) -> [String] {
        let all = lines(text)
        guard let start = all.firstIndex(where: { $0.lowercased().contains("failed permanently:") }) else { return [] }
        var found: [String] = []
        for line in all[(start + 1)...].prefix(50) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { if found.isEmpty { continue } else { break } }
            guard line.first == " " || line.first == "\t", !t.contains(" "), t.contains("@") else { break }
            found.append(t)
        }
        return found
    }

    /// The Message-ID of a quoted header block ("Message-ID: <...>" at the start of a line).
    static func quotedMessageID(in text: String) -> String? {
        for line in lines(text) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.lowercased().hasPrefix("message-id:") { return MIMEEntity.messageID(String(t.dropFirst("message-id:".count))) }
        }
        return nil
    }

    /// The lines of a text, whatever its line ends ("\r\n" is one Character in Swift, so splitting at "\n" alone
    /// would find none in mail).
    static func lines(_ text: String) -> [String] {
        text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
    }

    /// "rfc822; kim@example.org" → "kim@example.org".
    static func address(_ value: String) -> String {
        var v = withoutType(value)
        if v.hasPrefix("<"), v.hasSuffix(">") { v = String(v.dropFirst().dropLast()) }
        return v.trimmingCharacters(in: .whitespaces)
    }

    private static func withoutType(_ value: String) -> String {
        guard let semicolon = value.firstIndex(of: ";") else { return value.trimmingCharacters(in: .whitespaces) }
        return value[value.index(after: semicolon)...].trimmingCharacters(in: .whitespaces)
    }

    /// "5.1.1 (bad address)" → "5.1.1"; nil for anything that is not class.subject.detail.
    static func statusCode(_ value: String) -> String? {
        let token = value.trimmingCharacters(in: .whitespaces).prefix { !$0.isWhitespace && $0 != "(" }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, ["2", "4", "5"].contains(parts[0]), parts.dropFirst().allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) })
        else { return nil }
        return String(token)
    }

    /// The first enhanced status code in free text ("... 550 5.1.1 <kim@...>: user unknown").
    private static func firstStatusCode(in text: String) -> String? {
        for word in text.split(whereSeparator: { $0.isWhitespace || $0 == "#" || $0 == "(" || $0 == ")" }).prefix(5000) {
            if word.first == "5" || word.first == "4", let code = statusCode(String(word)) { return code }
        }
        return nil
    }
}
