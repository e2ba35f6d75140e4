import CirculateCore
import Foundation

extension Circulate.UpdateCommand.Queue {
    static func nextSlots(_ rule: RecurrenceRule, after: Date, zone: TimeZone) -> String {
        var out: [String] = []
        var d = after
        for _ in 0..<3 {
            guard let n = rule.nextOccurrence(after: d, in: zone) else { break }
            out.append(LocalTime.day(n, in: zone))
            d = n
        }
        return out.joined(separator: ", ")
    }
}
