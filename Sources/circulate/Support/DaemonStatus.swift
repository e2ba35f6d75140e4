import CirculateCore

/// Whether a daemon holds the database's lock.
enum DaemonStatus {
    static func lockPath(_ configuration: CirculateCore.Configuration) -> String {
        InstanceLock.lockPath(forDatabase: configuration.storage.database)
    }

    /// True only when another process holds the lock (an unusable lock file is not a running daemon).
    static func isRunning(_ configuration: CirculateCore.Configuration) -> Bool {
        do {
            let lock = try InstanceLock.acquire(path: lockPath(configuration))
            lock.release()
            return false
        } catch {
            if case .alreadyRunning = error.reason { return true }
            return false
        }
    }
}
