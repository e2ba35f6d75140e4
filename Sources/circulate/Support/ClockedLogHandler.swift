import CirculateCore
import Foundation
import Logging

/// The daemon's log lines on standard error, stamped by the daemon's own clock: with CIRCULATE_NOW set (a rehearsal,
/// a test) the times in the log agree with the times the daemon acts on.
struct ClockedLogHandler: LogHandler {
    let label: String
    let clock: @Sendable () -> Date
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let shownMetadata = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(clock().formatted(.iso8601)) \(event.level) \(label):\(shownMetadata) [\(event.source)] \(event.message)\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
