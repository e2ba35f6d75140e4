import Foundation
import Testing
@testable import CirculateCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("systemd notifications")
struct SystemdNotifierTests {
    @Test("outside systemd (no NOTIFY_SOCKET) the notifier is off and every call reports nothing sent")
    func disabledWithoutSocket() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready(status: "queue open"))
        #expect(!notifier.stopping())
        #expect(!notifier.notify("READY=1"))
    }

    @Test("NOTIFY_SOCKET values systemd would refuse leave the notifier off", arguments: [
        "", "relative/notify.sock", "@", "vsock:2:1234", "/" + String(repeating: "x", count: 200),
    ])
    func refusedAddresses(value: String) {
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": value]).isEnabled)
    }

    @Test("READY=1 with a status reaches a datagram socket bound at a file path, as one datagram")
    func readyToFileSocket() throws {
        let scratch = try Scratch()
        let path = scratch.path("notify.sock")
        let receiver = try DatagramReceiver(path: path)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])

        #expect(notifier.isEnabled)
        #expect(notifier.ready(status: "queue open, 0 waiting"))
        #expect(receiver.receive() == "READY=1\nSTATUS=queue open, 0 waiting")
    }

    @Test("stopping, status and raw notifications arrive in order, and a status keeps to one line")
    func stoppingAndStatus() throws {
        let scratch = try Scratch()
        let path = scratch.path("notify.sock")
        let receiver = try DatagramReceiver(path: path)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])

        #expect(notifier.ready())
        #expect(notifier.status("delivering 3 of 120\nto example.org"))
        #expect(notifier.notify("EXTEND_TIMEOUT_USEC=30000000"))
        #expect(notifier.stopping())
        #expect(receiver.receive() == "READY=1")
        #expect(receiver.receive() == "STATUS=delivering 3 of 120 to example.org")
        #expect(receiver.receive() == "EXTEND_TIMEOUT_USEC=30000000")
        #expect(receiver.receive() == "STOPPING=1")
    }

    @Test("an @name socket is reached in the abstract namespace (a leading NUL in sun_path, no file)")
    func abstractNamespace() throws {
        let name = "circulate-test-\(UUID().uuidString)"
        let receiver = try DatagramReceiver(abstractName: name)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name])

        #expect(notifier.isEnabled)
        #expect(notifier.ready(status: "abstract"))
        #expect(receiver.receive() == "READY=1\nSTATUS=abstract")
        // The name is not a file anywhere: the kernel keeps abstract names apart from the filesystem.
        #expect(!FileManager.default.fileExists(atPath: name))
    }

    @Test("the test's socket receives from libsystemd's own client too, so notifier and systemd agree on the address",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-notify")))
    func sameAddressesAsLibsystemd() throws {
        // Without this, the receiver and the notifier could share one mistake (say, a trailing NUL in an abstract
        // name) and still find each other while systemd would not.
        let scratch = try Scratch()
        let name = "circulate-test-\(UUID().uuidString)"
        for (value, receiver) in [(scratch.path("notify.sock"), try DatagramReceiver(path: scratch.path("notify.sock"))),
                                  ("@" + name, try DatagramReceiver(abstractName: name))] {
            let client = Process()
            client.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-notify")
            // --no-block: systemd 252's client otherwise waits 5 s for a barrier reply that only systemd sends.
            client.arguments = ["--no-block", "--ready", "--status=from libsystemd"]
            client.environment = ["NOTIFY_SOCKET": value]
            try client.run()
            client.waitUntilExit()
            #expect(receiver.receive() == "READY=1\nSTATUS=from libsystemd", "NOTIFY_SOCKET=\(value)")

            #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": value]).status("from circulate"))
            #expect(receiver.receive() == "STATUS=from circulate", "NOTIFY_SOCKET=\(value)")
        }
    }

    @Test("when nobody listens on NOTIFY_SOCKET, notify returns false instead of failing")
    func nobodyListening() throws {
        let scratch = try Scratch()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": scratch.path("gone.sock")])
        #expect(notifier.isEnabled)
        #expect(!notifier.ready())
        let abstract = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@circulate-nobody-\(UUID().uuidString)"])
        #expect(!abstract.stopping())
    }
}

/// Plays systemd's side: an AF_UNIX datagram socket that the test reads notifications from.
private final class DatagramReceiver {
    private let fd: Int32

    /// Binds at a file path.
    convenience init(path: String) throws {
        try self.init(sunPath: Array(path.utf8) + [0])
    }

    /// Binds in the abstract namespace: a leading NUL, then the name, with an exact address length.
    convenience init(abstractName: String) throws {
        try self.init(sunPath: [0] + Array(abstractName.utf8))
    }

    private init(sunPath: [UInt8]) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ReceiverError("socket: errno \(errno)") }
        // A missing datagram must fail the test, not hang it.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: sunPath) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + sunPath.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            close(fd)
            throw ReceiverError("bind: errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// The next datagram as text, or nil after the timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }
}

private struct ReceiverError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
