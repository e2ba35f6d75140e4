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

        // flock locks belong to the open file description, so a second open() + flock() conflicts even here.
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

    @Test("a lock held by a process killed with SIGKILL is free afterwards (the kernel drops a dead holder's flock)")
    func killedHolderFreesTheLock() throws {
        let scratch = try Scratch()
        let path = scratch.path("circulate.sqlite.lock")

        // flock -F execs the command without forking, so the process we kill is the one holding the lock; it says
        // "locked" only once the lock is taken, which replaces any sleeping in the test.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-F", path, "/bin/sh", "-c", "echo locked; exec sleep 30"]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() } }
        let said = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        try #require(said == "locked\n")

        // While it lives, circulate is refused; flock(1) writes no PID, so the message leaves it out.
        let error = #expect(throws: InstanceLockError.self) { try InstanceLock.acquire(path: path) }
        #expect(error?.reason == .alreadyRunning(pid: nil))
        #expect(error?.description.hasPrefix("another circulate serve is already running on ") == true)

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(holder.terminationReason == .uncaughtSignal)

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
}
