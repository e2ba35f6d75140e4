import Foundation
import Testing
@testable import CirculateCore

@Suite("The database file itself")
struct DatabaseFileTests {
    /// The permission bits of a file.
    static func mode(_ path: String) throws -> Int {
        try ((FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue) ?? -1
    }

    @Test("a zero-length file at the database path is refused, with or without create, and left as it is",
          arguments: [false, true])
    func zeroLength(create: Bool) throws {
        let scratch = try Scratch()
        let path = scratch.path("list.sqlite")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        do {
            _ = try AppDatabase.open(path: path, create: create)
            Issue.record("opened a zero-length file as a database (an empty list)")
        } catch {
            #expect(error.kind == .storage)
            #expect(error.description.contains(path))
            #expect(error.description.contains("empty (0 bytes)"))
            #expect(error.description.contains("backup"))
        }
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber == 0)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("a file that is not SQLite is refused and left as it is", arguments: [
        Data("Email,Name,Consent\nalex@example.org,Alex,yes\n".utf8),
        Data("SQLite format 2\u{0}".utf8) + Data(count: 4080),
        Data([0x53, 0x51]),
    ])
    func notSQLite(contents: Data) throws {
        let scratch = try Scratch()
        let path = scratch.path("list.sqlite")
        #expect(FileManager.default.createFile(atPath: path, contents: contents))
        for create in [false, true] {
            do {
                _ = try AppDatabase.open(path: path, create: create)
                Issue.record("opened a file that is not SQLite")
            } catch {
                #expect(error.kind == .storage)
                #expect(error.description.contains(path))
                #expect(error.description.contains("not an SQLite database"))
            }
        }
        #expect(FileManager.default.contents(atPath: path) == contents)
    }

    @Test("an existing database opens with or without create, and keeps what it holds")
    func existing() throws {
        let scratch = try Scratch()
        let path = scratch.path("list.sqlite")
        do {
            let db = try AppDatabase.open(path: path, create: true)
            _ = try db.addMember(person("alex@example.org"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        }
        for create in [false, true] {
            let db = try AppDatabase.open(path: path, create: create)
            #expect(try db.members(MemberFilter()).count == 1)
        }
    }

    @Test("a new database and its -wal and -shm are 0600 from the start, whatever the process's umask")
    func newDatabaseModes() throws {
        let scratch = try Scratch()
        let path = scratch.path("data/list.sqlite")
        let db = try AppDatabase.open(path: path, create: true)
        // While the database is open its write-ahead log and shared-memory index exist; SQLite gives them the
        // database file's mode at the moment it creates them.
        _ = try db.addMember(person("alex@example.org", name: "Alex Morgan"), grant: grant(), key: testKey, rejoin: false, now: testNow)
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file) missing")
            let mode = try Self.mode(file)
            #expect(mode == 0o600, "\(file) is \(String(mode, radix: 8))")
        }
        #expect(try Self.mode(scratch.path("data")) == 0o700)
    }
}
