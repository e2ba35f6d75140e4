/// Whether `needle` occurs in `haystack`: the raw-bytes search the erasure tests run over the database files.
public func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let n = Array(needle.utf8)
    guard !n.isEmpty, haystack.count >= n.count else { return false }
    outer: for i in 0...(haystack.count - n.count) {
        for j in 0..<n.count where haystack[i + j] != n[j] { continue outer }
        return true
    }
    return false
}
