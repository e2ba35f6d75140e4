import CirculateCore

/// After a command stopped mail for someone (an unsubscribe, an erasure, a cancellation): messages a daemon worker
/// already held are stopped at the last check before their content, and the command waits for that (a few seconds
/// at most) before it returns, so that nothing more of the person reaches the relay once it has.
enum Withdrawals {
    /// Waits for the messages `withdrawal` found in flight and says on standard error how they ended.
    static func settle(_ withdrawal: Withdrawal, database: AppDatabase, context: CommandContext) throws {
        guard !withdrawal.inFlight.isEmpty else { return }
        let outcome = try database.awaitWithdrawals(withdrawal, daemonRunning: DaemonStatus.isRunning(context.configuration))
        if outcome.stopped > 0 {
            Terminal.note("\(outcome.stopped) message(s) were being handed to the relay at that moment; stopped before their content was sent.")
        }
        if outcome.alreadySent > 0 {
            Terminal.note("\(outcome.alreadySent) message(s) had already been handed to the relay just before; they may still arrive.")
        }
        if outcome.stillSending > 0 {
            Terminal.note("\(outcome.stillSending) message(s) are still with a slow relay; the daemon stops them before their content is sent.")
        }
    }
}
