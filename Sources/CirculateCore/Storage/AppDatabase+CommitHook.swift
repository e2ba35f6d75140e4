import GRDB

extension AppDatabase {
    /// Calls `action` after each commit of this process that changed rows (not after reads, empty transactions or
    /// dry runs), on the writing thread, once the change is visible to other processes.
    ///
    /// For the CLI: the daemon cannot see another process's commits, so each command's committed change wakes it
    /// (`WakeSignal`), in this one place rather than in every command.
    public func afterCommittingChanges(_ action: @escaping @Sendable () -> Void) {
        pool.writeWithoutTransaction { db in
            db.add(transactionObserver: ChangeCommitObserver(db, action: action), extent: .databaseLifetime)
        }
    }
}

/// Tells commits that changed rows from the others by SQLite's running count of changed rows on the writer.
///
/// It observes no individual change, so it costs nothing per row (a 10,000-row import is one notification).
private final class ChangeCommitObserver: TransactionObserver {
    private let action: @Sendable () -> Void
    /// The writer's count of changed rows at the last commit or rollback; only touched on the writer's queue.
    private var changesSeen: Int

    init(_ db: Database, action: @escaping @Sendable () -> Void) {
        self.action = action
        changesSeen = db.totalChangesCount
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }

    func databaseDidChange(with event: DatabaseEvent) {}

    func databaseDidCommit(_ db: Database) {
        let total = db.totalChangesCount
        guard total != changesSeen else { return }
        changesSeen = total
        action()
    }

    func databaseDidRollback(_ db: Database) {
        // A dry run's changes count in SQLite's total too, though nothing of them was committed.
        changesSeen = db.totalChangesCount
    }
}
