import Mustache

/// The start-up checks a template passes besides parsing, so that a template from the configured folder can never
/// crash or stall the daemon later: a size limit on the file, a nesting limit and no partials (checked on the source,
/// because swift-mustache's parser recurses once per section and overflows the stack on deep nesting), and one
/// rehearsal render with sample data under an output limit.
extension MessageTemplates {
    /// The deepest nesting of sections allowed; the built-in templates use 3.
    static let maximumDepth = 32
    /// The largest template file, and the most one template may render for one message with sample data.
    static let maximumSize = 1_000_000

    /// Refuses nesting deeper than `maximumDepth` and partials, naming the line. Nil when the source is fine, or
    /// when it is malformed in a way the parser reports itself.
    static func structureProblem(in source: String) -> String? {
        let bytes = Array(source.utf8)
        var open = Array("{{".utf8)
        var close = Array("}}".utf8)
        // The parser keeps a delimiter change inside a section to that section; so do we.
        var sections: [(open: [UInt8], close: [UInt8])] = []
        var index = 0
        func line(_ at: Int) -> Int { 1 + bytes[..<at].filter { $0 == UInt8(ascii: "\n") }.count }
        while let start = bytes.offset(of: open, from: index) {
            let contentStart = start + open.count
            guard let end = bytes.offset(of: close, from: contentStart) else { return nil }
            index = end + close.count
            let content = bytes[contentStart..<end].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            switch content.first {
            case UInt8(ascii: "#"), UInt8(ascii: "^"), UInt8(ascii: "$"):
                sections.append((open, close))
                if sections.count > maximumDepth {
                    return "line \(line(start)): sections are nested more than \(maximumDepth) deep; simplify the template"
                }
            case UInt8(ascii: "/"):
                if let outer = sections.popLast() { (open, close) = (outer.open, outer.close) }
            case UInt8(ascii: ">"), UInt8(ascii: "<"):
                return "line \(line(start)): partials ({{> name}}, {{< name}}) are not supported: each template is rendered "
                    + "on its own, so a partial would silently be left out of the message; copy the text in instead"
            case UInt8(ascii: "{"):
                // {{{name}}}: the tag's last "}" follows the closing delimiter.
                if index < bytes.count && bytes[index] == UInt8(ascii: "}") { index += 1 }
            case UInt8(ascii: "="):
                let inner = content.dropFirst()
                guard inner.last == UInt8(ascii: "=") else { return nil }
                let parts = inner.dropLast().split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                guard parts.count == 2 else { return nil }
                (open, close) = (Array(parts[0]), Array(parts[1]))
            default:
                break
            }
        }
        return nil
    }

    /// Renders `template` once with sample values for every name a template can use; nil if the output stays under
    /// `maximumSize`, else the problem. The sample values count what they add, and their lists stop once the
    /// budget is spent, so even a list repeated inside itself 30 times ends at once.
    static func rehearsalProblem(_ template: MustacheTemplate, sourceSize: Int) -> String? {
        let budget = RehearsalBudget(limit: maximumSize, iterationCost: max(sourceSize, 1))
        let output = template.render(SampleObject(plain: sampleValues, budget: budget))
        guard budget.isExceeded || output.utf8.count > maximumSize else { return nil }
        return "renders more than 1 MB for one message with sample data; look for a section that repeats a list inside "
            + "itself, or text repeated many times"
    }

    /// Values for every name circulate's templates are given (see PreparedMailing and the subjects and notices),
    /// all at once and at realistic lengths.
    static var sampleValues: [String: Any] {
        let paragraph = "We met at the Riverside Centre to talk about what happens on the first night home from hospital. "
        let summary = String(repeating: paragraph, count: 5)
        let session: [String: Any] = [
            "title": "After the first night", "when": "Wednesday 13 January 2027, 10:00 to 12:00", "day": "Wednesday 13 January",
            "cancelled": false, "topic": "Hospital discharge", "location": "Riverside Centre, 14 Mill Lane, Stoke-on-Trent",
            "venue": "Riverside Centre", "address": "14 Mill Lane, Stoke-on-Trent", "online_link": "https://meet.example.org/riverside",
            "facilitator": "Dr Priya Example", "summary": summary, "has_summary": true, "promises_summary": true,
            "moved_from": "Tuesday 12 January 2027, 10:00 to 12:00",
            "details": "After the first night\nWednesday 13 January 2027, 10:00 to 12:00\nRiverside Centre, 14 Mill Lane, Stoke-on-Trent",
        ]
        let report: [String: Any] = [
            "title": "What helps on the first night", "distributed_day": "Tuesday 1 December", "attached": true,
            "link": "https://example.org/reports/first-night.pdf", "filename": "first-night.pdf", "size": "1.2 MB", "topic": "Hospital discharge",
        ]
        var values: [String: Any] = [
            "community": "Riverside Community of Practice", "coordinator_name": "Morgan Ellis", "subject": "December update",
            "content": String(repeating: paragraph, count: 15), "session": session, "invitation": session, "next_session": session,
            "no_invitation": true, "personal": false, "calendar_attached": true, "report": report, "upcoming_sessions": [session, session],
            "has_upcoming": true, "recent_reports": [report, report], "has_recent_reports": true, "follow_up": summary,
            "body": String(repeating: paragraph, count: 30), "footer": "You receive this because you joined Riverside Community of Practice.",
            "unsubscribe_mailto_only": false, "unsubscribe_link": "mailto:community@example.org?subject=unsubscribe%20token",
            "closing": "Thank you for being part of Riverside Community of Practice.", "greeting": "Sam Sample",
            "session_title": "After the first night", "session_day": "Wednesday 13 January", "report_title": "What helps on the first night",
            "slot_day": "Tuesday 1 December", "slot_when": "Tuesday 1 December 2026, 09:00",
            // The slots a missed-slot note lists (see UpdateSlotNotices).
            "slots": [["when": "Tuesday 1 December 2026, 09:00"], ["when": "Tuesday 5 January 2027, 09:00"]], "several": true,
        ]
        for name in subjectNames where values[name] == nil { values[name] = true }
        return values
    }
}

/// What a rehearsal render may still produce.
final class RehearsalBudget {
    let limit: Int
    /// What one pass through a list's section costs: at most the template's own text.
    let iterationCost: Int
    private(set) var spent = 0

    init(limit: Int, iterationCost: Int) {
        self.limit = limit
        self.iterationCost = iterationCost
    }

    var isExceeded: Bool { spent > limit }

    /// Counts `bytes`; false once over the limit.
    func spend(_ bytes: Int) -> Bool {
        if !isExceeded { spent += bytes }
        return !isExceeded
    }

    /// A sample value as the template sees it: text, an object or a list that count what they add.
    func wrap(_ value: Any) -> Any {
        switch value {
        case let text as String: SampleText(text: text, budget: self)
        case let object as [String: Any]: SampleObject(plain: object, budget: self)
        case let list as [Any]: SampleList(plain: list, budget: self)
        default: value
        }
    }
}

/// Sample text: counted each time a template prints it. Transforms are String's own (uppercased, reversed...).
struct SampleText: MustacheCustomRenderable, MustacheTransformable, MustacheParent {
    let text: String
    let budget: RehearsalBudget

    var renderText: String { budget.spend(text.utf8.count) ? text : "" }
    var isNull: Bool { false }
    func child(named: String) -> Any? { nil }
    func transform(_ name: String) -> Any? {
        switch text.transform(name) {
        case let result as String: SampleText(text: result, budget: budget)
        case let result as Substring: SampleText(text: String(result), budget: budget)
        case let result: result
        }
    }
}

/// A sample object (a session, a report): its values are wrapped as they are looked up.
struct SampleObject: MustacheCustomRenderable, MustacheTransformable, MustacheParent {
    let plain: [String: Any]
    let budget: RehearsalBudget

    var renderText: String {
        let text = String(describing: plain)
        return budget.spend(text.utf8.count) ? text : ""
    }
    var isNull: Bool { false }
    func child(named name: String) -> Any? { plain[name].map(budget.wrap) }
    /// The transforms swift-mustache offers on a dictionary, with lists that count their passes.
    func transform(_ name: String) -> Any? {
        switch name {
        case "count": plain.count
        case "empty": plain.isEmpty
        case "enumerated", "sorted": SampleList(plain: plain.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] as [String: Any] },
                                                budget: budget)
        default: nil
        }
    }
}

/// A sample list: each pass through a section over it costs the template's size, and passes stop once the budget
/// is spent.
struct SampleList: MustacheSequence, MustacheCustomRenderable, MustacheTransformable, MustacheParent {
    let plain: [Any]
    let budget: RehearsalBudget

    struct Iterator: IteratorProtocol {
        let list: SampleList
        var index = 0

        mutating func next() -> Any? {
            guard index < list.plain.count, list.budget.spend(list.budget.iterationCost) else { return nil }
            defer { index += 1 }
            return list.budget.wrap(list.plain[index])
        }
    }

    func makeIterator() -> Iterator { Iterator(list: self) }
    var renderText: String {
        let text = String(describing: plain)
        return budget.spend(text.utf8.count) ? text : ""
    }
    var isNull: Bool { false }
    func child(named: String) -> Any? { nil }
    /// The transforms swift-mustache offers on an array.
    func transform(_ name: String) -> Any? {
        switch name {
        case "first": plain.first.map(budget.wrap)
        case "last": plain.last.map(budget.wrap)
        case "reversed": SampleList(plain: plain.reversed(), budget: budget)
        case "count": plain.count
        case "empty": plain.isEmpty
        default: nil
        }
    }
}

extension Array where Element == UInt8 {
    /// The offset where `needle` first occurs at or after `start`.
    fileprivate func offset(of needle: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start <= count - needle.count else { return nil }
        var i = start
        while i <= count - needle.count {
            if self[i] == needle[0] && self[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
