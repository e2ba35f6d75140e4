import CirculateCore
import Foundation

/// Output for people and for machines.
enum Terminal {
    /// Writes an error line to standard error. Messages carry values from the command line, files and the
    /// database; whatever control character one still holds is shown, never acted on by the terminal.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("circulate: error: \(TextField.printable(message, keepingLineBreaks: true))\n".utf8))
    }

    /// Writes a warning line to standard error.
    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("circulate: warning: \(TextField.printable(message, keepingLineBreaks: true))\n".utf8))
    }

    /// A note on standard error (so that `--json` output stays clean).
    static func note(_ message: String) {
        FileHandle.standardError.write(Data(("circulate: " + TextField.printable(message, keepingLineBreaks: true) + "\n").utf8))
    }

    /// Prints a value as pretty JSON (snake_case keys, ISO 8601 UTC dates).
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    /// A date and time as people read it, in the community's time zone: "Sun 22 Nov 2026 14:03".
    static func local(_ date: Date, in zone: TimeZone) -> String {
        var style = Date.FormatStyle(date: .abbreviated, time: .shortened, locale: Locale(identifier: "en_GB"), timeZone: zone)
        style = style.weekday(.abbreviated)
        return date.formatted(style)
    }

    /// Lays out rows as aligned columns (for listings). Cells hold names, titles and replies from the database, so
    /// each is made printable (and measured as printed). Listings run to 10,000 rows: the text is assembled as bytes,
    /// and an ASCII cell is measured by its length.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        // Each cell is made printable where it is measured and again where it is written, rather than kept in a
        // copy of every row: for the ASCII nearly every cell holds, that is a scan that finds nothing to escape.
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], characters(TextField.printable(cell))) }
        }
        var text: [UInt8] = []
        text.reserveCapacity((widths.reduce(0, +) + 2 * widths.count) * (rows.count + 1))
        func append(_ cells: [String]) {
            for (i, raw) in cells.enumerated() {
                let cell = TextField.printable(raw)
                if i == cells.count - 1 {
                    text.append(contentsOf: cell.utf8)
                } else {
                    pad(cell, to: widths[i], into: &text)
                    text.append(contentsOf: "  ".utf8)
                }
            }
        }
        append(header)
        for row in rows {
            text.append(UInt8(ascii: "\n"))
            append(row)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// How many characters a printable cell holds: in ASCII, one per byte (`printable` has turned CR, LF and every
    /// other control into visible text), so only other text needs counting character by character.
    static func characters(_ cell: String) -> Int {
        let ascii = cell.utf8.withContiguousStorageIfAvailable { bytes in bytes.allSatisfy { $0 < 0x80 } }
        return ascii == true ? cell.utf8.count : cell.count
    }

    /// Appends `cell` padded with spaces to `width`, exactly as Foundation's `padding(toLength:withPad:startingAt:)`
    /// did, which counts UTF-16 units (widths are counted in characters). Foundation's version bridged every cell
    /// through NSString and was most of `member list`'s time; it is still used for the rare cell longer in UTF-16
    /// units than its column (an emoji, a decomposed accent), which it truncates.
    static func pad(_ cell: String, to width: Int, into text: inout [UInt8]) {
        let length = cell.utf16.count
        if length > width {
            text.append(contentsOf: cell.padding(toLength: width, withPad: " ", startingAt: 0).utf8)
            return
        }
        text.append(contentsOf: cell.utf8)
        text.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - length))
    }
}
