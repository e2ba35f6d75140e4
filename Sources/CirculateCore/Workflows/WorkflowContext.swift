import Foundation

/// What every workflow reads besides the database: the configuration (time zone, rules, the list's domain) and the
/// templates its subjects and notes come from.
public struct WorkflowContext: Sendable {
    public let configuration: Configuration
    public let templates: MessageTemplates

    /// Creates a context.
    public init(configuration: Configuration, templates: MessageTemplates) {
        self.configuration = configuration
        self.templates = templates
    }

    /// The domain of Message-IDs.
    var domain: String { configuration.domain }
    /// The community's time zone.
    var zone: TimeZone { configuration.community.timeZone }

    /// A subject from `subjects.txt.mustache` about a session.
    public func subject(_ name: String, session: Session) -> String {
        templates.subject(name, ["session_title": session.title, "session_day": LocalTime.day(session.startsAt, in: zone)])
    }

    /// A subject from `subjects.txt.mustache` about a report.
    public func subject(_ name: String, report title: String) -> String {
        templates.subject(name, ["report_title": title])
    }
}
