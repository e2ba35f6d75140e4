import CirculateCore

/// Whether a daemon holds the database's lock.
enum DaemonStatus {
    static func lockPath(_ configuration: CirculateCore.Configuration) -> String {
        InstanceLock.lockPath(forDatabase: configuration.storage.database)
    }

    /// True only when another process holds the lock (an unusable lock file is not a running daemon).
    ///
    /// Only tests the lock: taking it to ask, even for an instant, once made a `serve` starting at that moment exit
    /// 75 as "already running".
    static func isRunning(_ configuration: CirculateCore.Configuration) -> Bool {
        InstanceLock.isHeld(path: lockPath(configuration))
    }
}
