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
        var relay = try SMTPRelayConfiguration(
            url: smtp.url, ehloDomain: configuration.domain, username: smtp.username, password: password, caFile: smtp.caFile,
            allowPlaintext: smtp.allowPlaintext, smtputf8: smtp.smtputf8, connectTimeout: .milliseconds(Int(smtp.connectTimeout * 1000)))
        if smtp.username != nil {
            // Read again at each new connection: fixing the password file needs no restart.
            let environment = environment
            relay.passwordReloader = {
                try Secret.load(environmentVariable: smtp.passwordEnv, file: smtp.passwordFile, environment: environment, what: "SMTP password")
            }
        }
        return CurlSMTPTransport(configuration: relay)
    }

    /// The message templates (the configured folder, else the built-in copies), parsed: a broken one is an error here.
    func templates() throws -> MessageTemplates {
        try MessageTemplates.load(directory: configuration.templates.directory)
    }

    /// What the workflows need: the configuration and the templates their subjects and notes come from.
    func workflowContext(_ templates: MessageTemplates? = nil) throws -> WorkflowContext {
        WorkflowContext(configuration: configuration, templates: try templates ?? self.templates())
    }

    /// The message builder for mailings in `database`.
    func messageBuilder(_ database: AppDatabase, templates: MessageTemplates? = nil) throws -> MailingMessageBuilder {
        MailingMessageBuilder(database: database, templates: try templates ?? self.templates(),
                              configuration: configuration, key: try instanceKey(), clock: clock)
    }

    /// Parses "YYYY-MM-DD HH:MM" in the community's time zone.
    func localTime(_ text: String) throws -> Date {
        try LocalTime.parse(text, in: configuration.community.timeZone, field: "time")
    }
}
