import CirculateCore
import Foundation

/// Builds the delivery pieces from the configuration, for `serve` and `send-test`.
extension CommandContext {
    /// The configured transport: the SMTP relay if `[smtp]` is set, else the Maildir outbox.
    func transport() throws -> any MailTransport {
        guard let smtp = configuration.smtp else { return MaildirTransport(folder: configuration.outbox.maildir) }
        let password = try Secret.load(environmentVariable: smtp.passwordEnv, file: smtp.passwordFile,
                                       environment: environment, what: "SMTP password")
        if smtp.username != nil && password == nil {
            throw SecretError("smtp.username is set but no password was found in \(smtp.passwordFile.map { "the file \($0)" } ?? "")"
                              + "\(smtp.passwordEnv.map { " or the environment variable \($0)" } ?? "")")
        }
        let relay = try SMTPRelayConfiguration(
            url: smtp.url, ehloDomain: configuration.domain, username: smtp.username, password: password, caFile: smtp.caFile,
            allowPlaintext: smtp.allowPlaintext, smtputf8: smtp.smtputf8, connectTimeout: .milliseconds(Int(smtp.connectTimeout * 1000)))
        return CurlSMTPTransport(configuration: relay)
    }

    /// The message builder for mailings in `database`.
    func messageBuilder(_ database: AppDatabase) throws -> MailingMessageBuilder {
        MailingMessageBuilder(database: database, templates: try MessageTemplates.load(directory: "templates"),
                              configuration: configuration, key: try instanceKey())
    }

    /// Parses "YYYY-MM-DD HH:MM" in the community's time zone.
    func localTime(_ text: String) throws -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = configuration.community.timeZone
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "T" })
        let day = parts.first?.split(separator: "-").compactMap { Int($0) } ?? []
        let time = parts.count > 1 ? parts[1].split(separator: ":").compactMap { Int($0) } : [0, 0]
        guard parts.count <= 2, day.count == 3, time.count == 2,
              let date = calendar.date(from: DateComponents(year: day[0], month: day[1], day: day[2], hour: time[0], minute: time[1])),
              calendar.component(.hour, from: date) == time[0] else {
            throw InvalidField(field: "time", value: text,
                               problem: "is not a local time like \"2026-12-01 09:00\" (\(configuration.community.timeZone.identifier)), or does not exist on that day")
        }
        return date
    }
}
