import CCurl

/// Versions of circulate and of the system libraries it runs on.
public enum Versions {
    /// circulate's own version.
    public static let circulate = "0.1.0"

    /// The libcurl this process linked against.
    public static var libcurl: String { String(cString: circulate_curl_version()) }

    /// libcurl's TLS backend.
    public static var libcurlTLS: String { String(cString: circulate_curl_ssl_version()) }

    /// Whether libcurl can speak SMTP with and without implicit TLS.
    public static var libcurlHasSMTP: Bool {
        circulate_curl_has_protocol("smtp") != 0 && circulate_curl_has_protocol("smtps") != 0
    }
}
