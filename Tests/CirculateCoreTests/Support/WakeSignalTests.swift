import Foundation
import Logging
import Testing
@testable import CirculateCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("The wake-up socket between commands and the daemon")
struct WakeSignalTests {
    @Test("a datagram sent to the socket wakes the listener; the socket is private (0600) and gone after stop")
    func wakesListener() throws {
        let scratch = try Scratch()
        let path = WakeSignal.path(forDatabase: scratch.path("circulate.sqlite"))
        let wakes = Counter()
        let listener = try #require(WakeSignal.listen(path: path, logger: Logger(label: "test")) { wakes.add() })

        #expect(isSocket(path))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        WakeSignal.send(path: path)
        #expect(wait(5) { wakes.value >= 1 }, "no wake-up arrived")
        WakeSignal.send(path: path)
        #expect(wait(5) { wakes.value >= 2 }, "a second wake-up did not arrive")

        listener.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "a clean stop removes the socket")
    }

    @Test("the socket is named from the database's real path, so a command reaching it through a symlink finds it")
    func namedFromRealPath() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path("data"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.path("alias"), withDestinationPath: scratch.path("data"))
        #expect(WakeSignal.path(forDatabase: scratch.path("alias/circulate.sqlite"))
            == WakeSignal.path(forDatabase: scratch.path("data/circulate.sqlite")))
        #expect(WakeSignal.path(forDatabase: scratch.path("data/circulate.sqlite")).hasSuffix("/data/circulate.sqlite.wake"))
    }

    @Test("a socket left by a daemon that died is replaced and works; a file that is not a socket is left alone")
    func staleSocket() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.wake")
        try #require(deadSocket(at: path))
        let wakes = Counter()
        let listener = try #require(WakeSignal.listen(path: path, logger: Logger(label: "test")) { wakes.add() },
                                    "a stale socket must not stop the next daemon from listening")
        WakeSignal.send(path: path)
        #expect(wait(5) { wakes.value >= 1 })
        listener.stop()

        let other = scratch.path("not-a-socket.wake")
        try "keep me\n".write(toFile: other, atomically: true, encoding: .utf8)
        let log = LogRecorder()
        #expect(WakeSignal.listen(path: other, logger: log.logger) {} == nil)
        #expect(try String(contentsOfFile: other, encoding: .utf8) == "keep me\n", "the file must be left alone")
        #expect(log.lines.contains { $0.level == .warning && $0.message.contains("is not a socket") }, "\(log.lines)")
    }

    @Test("a path too long for a Unix socket: no listener, one line at info that the poll does the work; send does nothing")
    func pathTooLong() throws {
        let scratch = try Scratch()
        let folder = scratch.path(String(repeating: "d", count: 120))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/circulate.sqlite.wake"
        let log = LogRecorder()
        #expect(WakeSignal.listen(path: path, logger: log.logger) {} == nil)
        #expect(log.lines.count == 1 && log.lines.first?.level == .info && log.lines.first?.message.contains("poll") == true,
                "\(log.lines)")
        WakeSignal.send(path: path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("sending with nobody listening (no file, a dead socket, a plain file) returns at once and changes nothing")
    func nobodyListening() throws {
        let scratch = try Scratch()
        let dead = scratch.path("dead.wake")
        try #require(deadSocket(at: dead))
        let plain = scratch.path("plain.wake")
        try "x".write(toFile: plain, atomically: true, encoding: .utf8)

        let started = ContinuousClock.now
        for _ in 0..<100 {
            WakeSignal.send(path: scratch.path("missing.wake"))
            WakeSignal.send(path: dead)
            WakeSignal.send(path: plain)
        }
        #expect(ContinuousClock.now - started < .seconds(2), "sending must never block")
        #expect(try String(contentsOfFile: plain, encoding: .utf8) == "x")
    }

    @Test("a full receive buffer makes further sends fail quietly, not block; the listener still wakes once it reads")
    func fullBuffer() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.wake")
        let gate = DispatchSemaphore(value: 0)
        let wakes = Counter()
        // The first wake-up blocks the listener's queue, so the socket's queue fills up behind it.
        let listener = try #require(WakeSignal.listen(path: path, logger: Logger(label: "test")) {
            if wakes.add() == 1 { gate.wait() }
        })
        WakeSignal.send(path: path)
        #expect(wait(5) { wakes.value == 1 })
        let started = ContinuousClock.now
        for _ in 0..<1000 { WakeSignal.send(path: path) }
        #expect(ContinuousClock.now - started < .seconds(2), "sending must never block")
        gate.signal()
        #expect(wait(5) { wakes.value >= 2 }, "the wake-ups waiting in the socket must still wake the listener")
        listener.stop()
    }

    /// A socket file with nobody behind it, as a daemon killed with SIGKILL leaves (the kernel never removes it).
    private func deadSocket(at path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return bound == 0 && isSocket(path)
    }

    private func isSocket(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
    }

    /// Waits until `condition` holds, checking every 10 ms, for at most `seconds`.
    private func wait(_ seconds: Int, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }
}

/// A thread-safe count of wake-ups.
private final class Counter: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0

    @discardableResult
    func add() -> Int { lock.withLock { count += 1; return count } }
    var value: Int { lock.withLock { count } }
}

/// Keeps every line logged through `logger`.
private final class LogRecorder: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `recorded` is only touched under `lock`.
    private let lock = NSLock()
    private var recorded: [(level: Logger.Level, message: String)] = []

    var lines: [(level: Logger.Level, message: String)] { lock.withLock { recorded } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(recorder: self) }
    }

    fileprivate func append(_ level: Logger.Level, _ message: String) {
        lock.withLock { recorded.append((level, message)) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.append(event.level, event.message.description)
        }
    }
}
