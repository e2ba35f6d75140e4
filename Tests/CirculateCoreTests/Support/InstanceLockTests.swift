import Foundation
import Testing
@testable import CirculateCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Only one daemon per database")
struct InstanceLockTests {
    @Test("a second daemon in the same process is refused, and the message names the holder's PID and the database")
    func secondAcquireFails() throws {
        let scratch = try Scratch()
        let path = InstanceLock.lockPath(forDatabase: scratch.path("circulate.sqlite"))
        let first = try InstanceLock.acquire(path: path)

        // Open-file-description locks conflict between two open() calls even in one process.
        let error = #expect(throws: InstanceLockError.self) { try InstanceLock.acquire(path: path) }
        #expect(error?.reason == .alreadyRunning(pid: getpid()))
        #expect(error?.kind == .busy)
        #expect(error?.description == "another circulate serve (pid \(getpid())) is already running on "
            + "\(scratch.path("circulate.sqlite")); stop it first (systemctl stop circulate)")
        #expect(first.isHeld)
    }

    @Test("the lock file is private (0600) and holds the holder's PID")
    func fileHoldsPID() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.lock")
        let lock = try InstanceLock.acquire(path: path)

        #expect(try String(contentsOfFile: path, encoding: .utf8) == "\(getpid())\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        lock.release()
    }

    @Test("after release (or when the lock goes away) another daemon can start; releasing twice is harmless")
    func releaseThenReacquire() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.lock")

        let first = try InstanceLock.acquire(path: path)
        first.release()
        first.release()
        #expect(!first.isHeld)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "", "a clean stop leaves no PID behind")

        do {
            let second = try InstanceLock.acquire(path: path)
            #expect(second.isHeld)
        }
        // `second` was deinitialised at the end of its scope, which released it.
        let third = try InstanceLock.acquire(path: path)
        #expect(third.isHeld)
    }

    @Test("a lock held by a process killed with SIGKILL is free afterwards (the kernel drops a dead holder's lock)")
    func killedHolderFreesTheLock() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.lock")

        // Python takes the same kind of lock (an open-file-description write lock on the whole file) in the process we
        // kill, and says "locked" only once it holds it, which replaces any sleeping in the test. It writes no PID.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
            import fcntl, os, struct, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
            # struct flock: l_type, l_whence, l_start, l_len, l_pid (0, as OFD locks require), padding
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
            print("locked", flush=True)
            time.sleep(30)
            """, path]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() } }
        // Read up to the end of the line (or until the pipe closes, should Python fail): one read may return part of it.
        var said = ""
        while !said.hasSuffix("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said += String(decoding: chunk, as: UTF8.self)
        }
        try #require(said == "locked\n")

        // While it lives, circulate is refused and the probe sees it; the holder wrote no PID, so the message leaves
        // it out.
        #expect(InstanceLock.isHeld(path: path))
        let error = #expect(throws: InstanceLockError.self) { try InstanceLock.acquire(path: path) }
        #expect(error?.reason == .alreadyRunning(pid: nil))
        #expect(error?.description.hasPrefix("another circulate serve is already running on ") == true)

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(holder.terminationReason == .uncaughtSignal)

        #expect(!InstanceLock.isHeld(path: path))
        let lock = try InstanceLock.acquire(path: path)
        #expect(lock.isHeld)
    }

    @Test("a lock file that cannot be created is a storage problem that says what to check")
    func unusablePath() throws {
        let scratch = try Scratch()
        let path = scratch.path("missing-folder/circulate.sqlite.lock")
        let error = #expect(throws: InstanceLockError.self) { try InstanceLock.acquire(path: path) }
        #expect(error?.kind == .storage)
        #expect(error?.description.contains("No such file or directory") == true)
        #expect(error?.description.contains(scratch.path("missing-folder/circulate.sqlite")) == true)
    }

    @Test("the probe says held only while someone holds the lock, and neither creates nor changes the file")
    func probe() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.lock")

        #expect(!InstanceLock.isHeld(path: path))
        #expect(!FileManager.default.fileExists(atPath: path), "asking must not create the lock file")

        let lock = try InstanceLock.acquire(path: path)
        #expect(InstanceLock.isHeld(path: path))
        #expect(InstanceLock.isHeld(path: path), "probing twice (and closing the probe's descriptor) keeps the lock")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "\(getpid())\n", "the probe leaves the PID alone")
        #expect(throws: InstanceLockError.self) { try InstanceLock.acquire(path: path) }

        lock.release()
        #expect(!InstanceLock.isHeld(path: path), "a released lock file that stays behind is not a running daemon")
    }

    @Test("probing in a tight loop never makes a daemon's start fail: 2,000 acquisitions beside a probing thread")
    func probeNeverBlocksAcquire() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.lock")
        let run = ProbeLoop()

        let prober = Thread {
            while !run.finished { run.record(held: InstanceLock.isHeld(path: path)) }
            run.proberDone.signal()
        }
        prober.start()
        defer { run.stop() }
        // Wait for the first probe so the two threads really overlap, even on a loaded machine.
        let started = Date()
        while run.counts.held + run.counts.free == 0 && Date().timeIntervalSince(started) < 10 {
            Thread.sleep(forTimeInterval: 0.001)
        }

        var refused: [String] = []
        for attempt in 0..<2_000 {
            do {
                let lock = try InstanceLock.acquire(path: path)
                lock.release()
            } catch {
                refused.append("attempt \(attempt): \(error)")
            }
        }
        run.stop()

        let refusals = refused.count  // a count, so a failure does not print all 2,000 messages
        #expect(refusals == 0, "\(refusals) of 2,000 acquisitions were refused; first: \(refused.first ?? "")")
        #expect(run.counts.held + run.counts.free > 0)
    }

    @Test("a daemon reaching the database through a symlink is refused while one runs through the real path")
    func symlinkedDatabase() throws {
        let scratch = try Scratch()
        let fm = FileManager.default
        try fm.createDirectory(atPath: scratch.path("data"), withIntermediateDirectories: true)
        _ = fm.createFile(atPath: scratch.path("data/circulate.sqlite"), contents: nil)
        try fm.createSymbolicLink(atPath: scratch.path("alias.sqlite"), withDestinationPath: scratch.path("data/circulate.sqlite"))
        try fm.createSymbolicLink(atPath: scratch.path("linked-data"), withDestinationPath: "data")

        let real = InstanceLock.lockPath(forDatabase: scratch.path("data/circulate.sqlite"))
        let viaFileLink = InstanceLock.lockPath(forDatabase: scratch.path("alias.sqlite"))
        let viaFolderLink = InstanceLock.lockPath(forDatabase: scratch.path("linked-data/circulate.sqlite"))
        #expect(viaFileLink == real)
        #expect(viaFolderLink == real)
        // A database not created yet is named through its folder's real path.
        #expect(InstanceLock.lockPath(forDatabase: scratch.path("linked-data/new.sqlite"))
            == InstanceLock.lockPath(forDatabase: scratch.path("data/new.sqlite")))

        let lock = try InstanceLock.acquire(path: real)
        let error = #expect(throws: InstanceLockError.self) { try InstanceLock.acquire(path: viaFileLink) }
        #expect(error?.reason == .alreadyRunning(pid: getpid()))
        #expect(throws: InstanceLockError.self) { try InstanceLock.acquire(path: viaFolderLink) }
        #expect(InstanceLock.isHeld(path: viaFileLink))
        lock.release()
        #expect(!InstanceLock.isHeld(path: viaFileLink))
    }
}

/// What the probing thread saw, and when it should stop.
private final class ProbeLoop: @unchecked Sendable {
    // Why @unchecked Sendable is sound: every field is read and written under `mutex`, except the semaphore, which is
    // itself thread-safe.
    private let mutex = NSLock()
    private var stopped = false
    private var held = 0
    private var free = 0
    private var joined = false
    let proberDone = DispatchSemaphore(value: 0)

    var finished: Bool { mutex.withLock { stopped } }
    var counts: (held: Int, free: Int) { mutex.withLock { (held, free) } }

    func record(held isHeld: Bool) {
        mutex.withLock { if isHeld { held += 1 } else { free += 1 } }
    }

    /// Stops the prober and waits for it to finish (once), so the scratch folder outlives it.
    func stop() {
        let wait = mutex.withLock { () -> Bool in
            stopped = true
            defer { joined = true }
            return !joined
        }
        if wait { proberDone.wait() }
    }
}
