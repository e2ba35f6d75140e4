import CCurl

/// A libcurl failure while creating or configuring an easy handle, before any network traffic.
struct CurlSetupError: Error, Sendable, CustomStringConvertible {
    /// The `CURLcode`, raw.
    let code: UInt32
    /// What failed, in libcurl's words.
    let description: String
}

/// The time limits one transfer's watchdog enforces, measured from the last sign of progress.
///
/// libcurl 7.88 has a single server-response timeout for every reply, but SMTP needs different waits for a command's
/// reply and for the reply to the final dot (RFC 5321 §4.5.3.2), and libcurl must not be reconfigured from inside a
/// callback. So the transfer keeps its own deadline, moved on by each reply and by each piece of content libcurl
/// takes, and the progress callback (which libcurl runs at least once a second, also while it blocks for a reply)
/// aborts the transfer when the deadline passes.
struct CurlWatchdog: Sendable {
    /// From the start of the transfer to the first reply: connecting, TLS and the greeting.
    var firstReply: Duration
    /// From one reply (or one piece of content taken) to the next reply or the next piece taken.
    var reply: Duration
    /// From the last byte of content taken to the reply after it.
    var finalReply: Duration
}

/// What one transfer ended with: libcurl's code and what the callbacks saw on the way.
struct CurlTransferResult {
    /// libcurl's result.
    var code: CURLcode
    /// The last reply code (CURLINFO_RESPONSE_CODE), 0 if none.
    var responseCode: Int
    /// The server reply that carried `responseCode`, as text (multi-line replies joined with spaces); empty if none.
    var reply: String
    /// libcurl's error text (CURLOPT_ERRORBUFFER, else `curl_easy_strerror`); empty on success.
    var errorText: String
    /// Whether libcurl asked for the content (for SMTP: the relay said 354 to DATA).
    var contentStarted: Bool
    /// Whether libcurl took every byte of the content.
    var contentComplete: Bool
    /// What the `beforeContent` check said, if it did not say go: the transfer was then abandoned before any content
    /// was handed over.
    var withheld: LastCheck?
    /// Whether the watchdog ended the transfer.
    var timedOut: Bool
}

/// One libcurl easy handle with the options and callbacks a transfer needs.
///
/// Deliberately not `Sendable`: a `CURL*` must stay with one owner on one thread. The handle keeps its connection
/// open between transfers (libcurl's per-handle connection cache), so a caller that keeps one `CurlEasy` gets one
/// connection for many transfers. `curl_easy_perform` blocks: never call `perform` on Swift's cooperative thread pool.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    /// libcurl writes its detailed error text here; it must outlive the handle.
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// Lists set for the coming transfer; libcurl keeps only the pointer, so they live until the transfer ends.
    private var lists: [(option: CURLoption, list: UnsafeMutablePointer<curl_slist>)] = []

    /// Creates a handle with the callbacks installed and signals off (libcurl's timeouts would otherwise use
    /// SIGALRM, which is unsafe in a multi-threaded process).
    init() throws(CurlSetupError) {
        if let problem = CurlGlobal.initialise() { throw CurlSetupError(code: CURLE_FAILED_INIT.rawValue, description: problem) }
        guard let handle = curl_easy_init() else {
            throw CurlSetupError(code: CURLE_FAILED_INIT.rawValue, description: "libcurl could not create a handle (out of memory?)")
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try check(circulate_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
        try set(CURLOPT_NOSIGNAL, 1)
        // The callbacks are plain C functions; each recovers its `CurlTransfer` from the pointer set per transfer,
        // and does nothing when that pointer is absent (e.g. the QUIT reply read during clean-up).
        try check(circulate_curl_setopt_read(handle) { buffer, size, count, context in
            guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
            return Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                .provideContent(into: buffer, capacity: size * count)
        }, "CURLOPT_READFUNCTION")
        // For SMTP, libcurl hands every server reply line to the header callback; only the relay's lines come here,
        // never what we send (so never the AUTH exchange).
        try check(circulate_curl_setopt_header(handle) { buffer, size, count, context in
            let length = size * count
            guard let buffer, let context else { return length }
            Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                .receiveReplyLine(UnsafeRawBufferPointer(start: buffer, count: length))
            return length
        }, "CURLOPT_HEADERFUNCTION")
        // Downloaded data (IMAP: the untagged lines of a custom command, which the header callback sees as well) must
        // never reach libcurl's default, which writes it to standard output.
        try check(circulate_curl_setopt_write(handle) { _, size, count, _ in size * count }, "CURLOPT_WRITEFUNCTION")
        try check(circulate_curl_setopt_xferinfo(handle) { context, _, _, _, _ in
            guard let context else { return 0 }
            return Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue().isOverdue() ? 1 : 0
        }, "CURLOPT_XFERINFOFUNCTION")
        try set(CURLOPT_NOPROGRESS, 0)  // turns the progress (watchdog) callback on; it prints nothing
    }

    deinit {
        // Clean-up first (it may still read a QUIT reply and write the error buffer), then what it referred to.
        curl_easy_cleanup(handle)
        for entry in lists { curl_slist_free_all(entry.list) }
        errorBuffer.deallocate()
    }

    /// Sets a numeric option.
    func set(_ option: CURLoption, _ value: Int) throws(CurlSetupError) {
        try check(circulate_curl_setopt_long(handle, option, value), option)
    }

    /// Sets a text option; libcurl keeps its own copy.
    func set(_ option: CURLoption, _ value: String) throws(CurlSetupError) {
        try check(circulate_curl_setopt_string(handle, option, value), option)
    }

    /// Sets a text option from bytes (e.g. a password) without making a `String` of them; libcurl keeps its own copy
    /// and ours is zeroed at once. The bytes must not contain NUL.
    func set(_ option: CURLoption, bytes: [UInt8]) throws(CurlSetupError) {
        var text = bytes.map { CChar(bitPattern: $0) }
        text.append(0)
        let result = text.withUnsafeBufferPointer { circulate_curl_setopt_string(handle, option, $0.baseAddress) }
        text.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] = 0 }
        }
        try check(result, option)
    }

    /// Sets a 64-bit size option (`CURLOPT_INFILESIZE_LARGE`).
    func set(_ option: CURLoption, size: Int64) throws(CurlSetupError) {
        try check(circulate_curl_setopt_off(handle, option, curl_off_t(size)), option)
    }

    /// Sets a server-reply timeout, in milliseconds where libcurl supports that.
    func setServerResponseTimeout(milliseconds: Int) throws(CurlSetupError) {
        try check(circulate_curl_setopt_server_response_timeout_ms(handle, milliseconds), "CURLOPT_SERVER_RESPONSE_TIMEOUT")
    }

    /// Sets a list option for the next transfer only; the list is freed (and the option cleared) when it ends.
    func setForNextTransfer(_ option: CURLoption, list items: [String]) throws(CurlSetupError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for item in items {
            guard let longer = curl_slist_append(list, item) else {
                if let list { curl_slist_free_all(list) }
                throw CurlSetupError(code: CURLE_OUT_OF_MEMORY.rawValue, description: "libcurl could not build a list (out of memory?)")
            }
            list = longer
        }
        guard let list else { return }
        lists.append((option, list))
        try check(circulate_curl_setopt_slist(handle, option, list), option)
    }

    /// Runs one transfer to the end (blocking), then releases everything set for it alone.
    func perform(_ transfer: CurlTransfer) -> CurlTransferResult {
        errorBuffer[0] = 0  // libcurl leaves an old message in place when the new transfer has none
        let context = Unmanaged.passRetained(transfer)
        defer { context.release() }
        var code = attach(context.toOpaque())
        if code == CURLE_OK {
            code = curl_easy_perform(handle)
        }
        _ = attach(nil)
        transfer.finish()
        endTransfer()
        var responseCode = 0
        if circulate_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &responseCode) != CURLE_OK { responseCode = 0 }
        return CurlTransferResult(code: code, responseCode: responseCode, reply: transfer.reply(withCode: responseCode),
                                  errorText: code == CURLE_OK ? "" : errorText(code),
                                  contentStarted: transfer.started, contentComplete: transfer.contentComplete,
                                  withheld: transfer.withheld, timedOut: transfer.timedOut)
    }

    /// Points the callbacks at a transfer (or at nothing, so a late callback cannot reach a released object).
    private func attach(_ context: UnsafeMutableRawPointer?) -> CURLcode {
        let read = circulate_curl_setopt_pointer(handle, CURLOPT_READDATA, context)
        let header = circulate_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        let progress = circulate_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
        return read != CURLE_OK ? read : header != CURLE_OK ? header : progress
    }

    /// Clears and frees the lists set for the transfer that just ended.
    private func endTransfer() {
        for entry in lists {
            _ = circulate_curl_setopt_slist(handle, entry.option, nil)
            curl_slist_free_all(entry.list)
        }
        lists.removeAll(keepingCapacity: true)
    }

    private func errorText(_ code: CURLcode) -> String {
        let detail = String(cString: errorBuffer)
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    private func check(_ result: CURLcode, _ option: CURLoption) throws(CurlSetupError) {
        try check(result, "option \(option.rawValue)")
    }

    private func check(_ result: CURLcode, _ what: String) throws(CurlSetupError) {
        guard result != CURLE_OK else { return }
        throw CurlSetupError(code: result.rawValue,
                             description: "libcurl refused \(what): \(String(cString: curl_easy_strerror(result)))")
    }
}

/// One transfer's state, reached from libcurl's C callbacks through an `Unmanaged` pointer that `CurlEasy.perform`
/// retains for exactly the length of the transfer.
final class CurlTransfer {
    /// Longest reply text kept; a relay's reply is at most a few lines, and this bounds a hostile one.
    private static let replyLimit = 512

    private let content: UnsafeRawBufferPointer
    private var beforeContent: (() -> LastCheck)?
    private let watchdog: CurlWatchdog
    private var deadline: ContinuousClock.Instant
    private var taken = 0
    private var reply: [UInt8] = []
    /// The reply before `reply`: after a refusal libcurl may say QUIT in the same transfer, and the refusal, not
    /// the "221 Bye", is the reply that matters.
    private var earlierReply: [UInt8] = []
    private var replyComplete = true

    /// Whether libcurl has asked for content.
    private(set) var started = false
    /// What `beforeContent` said, when it did not say go.
    private(set) var withheld: LastCheck?
    /// Whether the watchdog ended the transfer.
    private(set) var timedOut = false
    /// Every server line exactly as received, when the transfer was made with `capturing:` (IMAP: a FETCH literal
    /// reaches only the header callback); at most that many bytes.
    private(set) var captured: [UInt8] = []
    /// Whether the server sent more than the capture limit (the capture is then incomplete).
    private(set) var captureOverflowed = false
    private var captureLimit = 0

    /// A transfer that uploads nothing and keeps up to `limit` bytes of what the server says (IMAP commands).
    convenience init(capturing limit: Int, watchdog: CurlWatchdog) {
        self.init(content: UnsafeRawBufferPointer(start: nil, count: 0), beforeContent: { .go }, watchdog: watchdog)
        captureLimit = limit
    }

    /// A transfer that uploads `content` (which must stay valid until `perform` returns) and runs `beforeContent`
    /// when libcurl first asks for content; the closure is dropped when the transfer ends.
    init(content: UnsafeRawBufferPointer, beforeContent: @escaping () -> LastCheck, watchdog: CurlWatchdog) {
        self.content = content
        self.beforeContent = beforeContent
        self.watchdog = watchdog
        deadline = .now + watchdog.firstReply
    }

    /// Whether every byte of the content was taken by libcurl.
    var contentComplete: Bool { started && withheld == nil && taken == content.count }

    /// The latest of the last two replies that has this code (any code for 0), as text; empty if neither has.
    func reply(withCode code: Int) -> String {
        if !reply.isEmpty, code == 0 || Self.code(of: reply) == code { return String(decoding: reply, as: UTF8.self) }
        if !earlierReply.isEmpty, Self.code(of: earlierReply) == code { return String(decoding: earlierReply, as: UTF8.self) }
        return ""
    }

    private static func code(of reply: [UInt8]) -> Int? {
        guard reply.count >= 3 else { return nil }
        var value = 0
        for byte in reply[0..<3] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Drops the caller's closure, which must not outlive the transfer.
    func finish() { beforeContent = nil }

    /// CURLOPT_READFUNCTION: the first call is the last moment to withdraw, then the bytes are copied as they are.
    func provideContent(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        if !started {
            started = true
            if let beforeContent {
                let answer = beforeContent()
                if answer != .go {
                    withheld = answer
                    return Int(CURL_READFUNC_ABORT)
                }
            }
        }
        let count = min(capacity, content.count - taken)
        if count > 0, let base = content.baseAddress {
            UnsafeMutableRawPointer(buffer).copyMemory(from: base + taken, byteCount: count)
            taken += count
        }
        deadline = .now + (taken == content.count ? watchdog.finalReply : watchdog.reply)
        return count
    }

    /// CURLOPT_HEADERFUNCTION: collects one reply line ("250-..." continues a reply, "250 ..." ends it).
    func receiveReplyLine(_ line: UnsafeRawBufferPointer) {
        if captureLimit > 0 {
            if captured.count + line.count <= captureLimit { captured.append(contentsOf: line) } else { captureOverflowed = true }
            deadline = .now + watchdog.reply  // a long literal arrives in many pieces: each is progress
        }
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        let continues = end >= 4 && line[3] == UInt8(ascii: "-")
        var start = 0
        if replyComplete {
            swap(&reply, &earlierReply)
            reply.removeAll(keepingCapacity: true)
        } else {
            append(0x20)
            start = min(4, end)  // a continuation line's code repeats the first line's
        }
        // Copied whole (up to the limit), then controls made spaces: printable ASCII and UTF-8 are kept, anything
        // else from the wire becomes a space in logs. Every reply of every message comes through here.
        let taken = max(0, min(end - start, Self.replyLimit - reply.count))
        if taken > 0 {
            let from = reply.count
            reply.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[start..<(start + taken)]))
            for index in from..<reply.count where reply[index] < 0x20 || reply[index] == 0x7F {
                reply[index] = 0x20
            }
        }
        replyComplete = !continues
        if replyComplete { deadline = .now + watchdog.reply }
    }

    /// CURLOPT_XFERINFOFUNCTION: whether the current wait has lasted too long. Once overdue, always overdue: after
    /// the abort libcurl may still say QUIT to a relay that has stopped answering, and that wait must end at once.
    func isOverdue() -> Bool {
        if timedOut { return true }
        guard ContinuousClock.now > deadline else { return false }
        timedOut = true
        return true
    }

    private func append(_ byte: UInt8) {
        if reply.count < Self.replyLimit { reply.append(byte) }
    }
}
