import CCurl

/// libcurl's process-wide set-up, done exactly once before the first easy handle.
///
/// `curl_global_init` is not safe to race with itself or with `curl_easy_init` (which calls it implicitly when it has
/// not run), so every `CurlEasy` goes through here first. A `static let` is initialised lazily under `swift_once`,
/// which gives the "exactly once, thread-safely" guarantee without a lock of our own. Nothing calls
/// `curl_global_cleanup`: the process ends instead, and cleaning up while a sender thread still runs would be worse.
enum CurlGlobal {
    /// libcurl's answer to `curl_global_init`, as the raw `CURLcode` value.
    private static let initResult: UInt32 = curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue

    /// Runs `curl_global_init` on first use; nil when it worked, otherwise libcurl's explanation.
    static func initialise() -> String? {
        let result = initResult
        guard result != CURLE_OK.rawValue else { return nil }
        return "libcurl could not initialise (\(String(cString: curl_easy_strerror(CURLcode(rawValue: result)))))"
    }
}
