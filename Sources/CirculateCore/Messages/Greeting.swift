import Foundation

/// The automatic greeting ("Dear Sam,") that opens every message to a person whose name is known, and the way a
/// coordinator turns it off for a body that brings its own salutation ("Dear friends,"): a marker line at the very
/// top of the Markdown, or `--no-greeting`, which writes that line.
public enum Greeting {
    /// The marker; an HTML comment, so a Markdown preview elsewhere does not show it.
    public static let offMarker = "<!-- no greeting -->"

    /// The body without the marker, and whether messages greet their recipient.
    static func choice(_ markdown: String) -> (body: String, greets: Bool) {
        let trimmed = markdown.drop { $0.isWhitespace }
        guard trimmed.lowercased().hasPrefix(offMarker) else { return (markdown, true) }
        return (String(trimmed.dropFirst(offMarker.count)), false)
    }

    /// The body with the greeting turned off (unchanged if it already is).
    public static func turnedOff(_ markdown: String) -> String {
        choice(markdown).greets ? offMarker + "\n" + markdown : markdown
    }
}
