import Foundation
import Testing

@Suite("The queue's boundary")
struct QueueBoundaryTests {
    /// The repository's Sources folder.
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")

    @Test("nothing outside Queue/ writes the mailing or delivery tables (migrations aside)")
    func onlyTheQueueWrites() throws {
        let writes = try NSRegularExpression(pattern: #"(INSERT(\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+(mailing|delivery)\b"#,
                                             options: [.caseInsensitive])
        var offenders: [String] = []
        let files = FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift", !url.path.contains("/CirculateCore/Queue/"), url.lastPathComponent != "Migrations.swift" else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            if writes.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil { offenders.append(url.lastPathComponent) }
        }
        #expect(offenders.isEmpty, "these files write the queue's tables: \(offenders)")
    }
}
