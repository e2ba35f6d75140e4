import Foundation
@testable import CirculateCore

/// A temporary folder for one test, removed when the value is released.
final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("circulate-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// A fresh database in this folder.
    func database() throws -> AppDatabase { try AppDatabase.open(path: path("test.sqlite"), create: true) }

    /// All bytes of the database file and its -wal and -shm companions.
    func databaseBytes() -> [UInt8] {
        ["test.sqlite", "test.sqlite-wal", "test.sqlite-shm"].flatMap { name in
            FileManager.default.contents(atPath: path(name)).map(Array.init) ?? []
        }
    }
}

/// A fixed instance key for tests.
let testKey: InstanceKey = {
    do { return try InstanceKey(bytes: Array(repeating: 7, count: 32)) } catch { fatalError("\(error)") }
}()

/// A fixed clock reading.
let testNow = Date(timeIntervalSince1970: 1_795_000_000)


/// Runs Debian's /usr/bin/python3 with a script and returns its standard output.
func python(_ script: String, arguments: [String] = []) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", script] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

func grant(_ basis: LawfulBasis = .consent, source: String = "sign-in sheet, 5 Nov 2026 session") throws -> ConsentGrant {
    try ConsentGrant(lawfulBasis: basis, source: source, wordingVersion: basis == .consent ? "2026-01" : nil, recordedBy: "Sam Coordinator")
}

func person(_ email: String, name: String = "", organisation: String? = nil, tags: [String] = []) throws -> NewMember {
    try NewMember(address: EmailAddress(email), name: name, organisation: organisation, tags: tags)
}
