import Foundation

extension Configuration.Inbox {
    /// The connection settings, with the password or token read now (a refreshed token needs no restart).
    func clientSettings(environment: [String: String]) throws -> IMAPClient.Settings {
        let settings = self
        let url = settings.url
        let scheme = url.scheme?.lowercased() ?? "imaps"
        let rawHost = url.host ?? ""
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let credential: IMAPCredential
        if let tokenFile = settings.oauth2TokenFile {
            guard let token = try Secret.load(environmentVariable: nil, file: tokenFile, environment: environment, what: "inbox OAuth2 token"),
                  !token.bytes.isEmpty else {
                throw SecretError("the OAuth2 token file \(tokenFile) (inbox.oauth2_token_file) is missing or empty; whatever refreshes the token must write it there")
            }
            credential = .bearer(token)
        } else {
            guard let password = try Secret.load(environmentVariable: settings.passwordEnv, file: settings.passwordFile,
                                                 environment: environment, what: "inbox password"), !password.bytes.isEmpty else {
                throw SecretError("no inbox password was found; check inbox.password_file or inbox.password_env")
            }
            credential = .password(password)
        }
        guard !credential.bytes.contains(0) && !credential.bytes.contains(0x0A) else {
            throw SecretError("the inbox password or token contains a NUL or a line break; check the file")
        }
        return IMAPClient.Settings(host: host, port: url.port ?? (scheme == "imaps" ? 993 : 143), implicitTLS: scheme == "imaps",
                                   folder: settings.folder, username: settings.username, credential: credential,
                                   caFile: settings.caFile, allowPlaintext: settings.allowPlaintext,
                                   connectTimeout: .milliseconds(Int(settings.connectTimeout * 1000)))
    }
}
