// Typed wrappers for libcurl's variadic functions, which Swift cannot call directly.
#ifndef CIRCULATE_CCURL_SHIM_H
#define CIRCULATE_CCURL_SHIM_H

#include <curl/curl.h>

/// The libcurl version string this process linked against (e.g. "7.88.1").
static inline const char *circulate_curl_version(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info ? info->version : "unknown";
}

/// The TLS backend libcurl was built with (e.g. "OpenSSL/3.0.17").
static inline const char *circulate_curl_ssl_version(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return (info && info->ssl_version) ? info->ssl_version : "none";
}

/// Whether this libcurl was built with the named protocol (e.g. "smtps").
static inline int circulate_curl_has_protocol(const char *name) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    if (!info || !info->protocols) return 0;
    for (const char *const *p = info->protocols; *p; ++p) {
        const char *a = *p, *b = name;
        while (*a && *b && *a == *b) { ++a; ++b; }
        if (*a == 0 && *b == 0) return 1;
    }
    return 0;
}

static inline CURLcode circulate_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode circulate_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode circulate_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode circulate_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode circulate_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode circulate_curl_setopt_read(CURL *h, curl_read_callback f) { return curl_easy_setopt(h, CURLOPT_READFUNCTION, f); }
static inline CURLcode circulate_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }

/* Callbacks: one setter per callback type, because the function pointer must keep its exact C type. */
static inline CURLcode circulate_curl_setopt_header(CURL *h, curl_write_callback f) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f); }
static inline CURLcode circulate_curl_setopt_write(CURL *h, curl_write_callback f) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f); }
static inline CURLcode circulate_curl_setopt_xferinfo(CURL *h, curl_xferinfo_callback f) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f); }

/* How long libcurl waits for any one server reply. The millisecond option arrived in 8.6.0; before that only whole
   seconds exist, so round up rather than wait less than asked. */
static inline CURLcode circulate_curl_setopt_server_response_timeout_ms(CURL *h, long ms) {
#if LIBCURL_VERSION_NUM >= 0x080600
    return curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT_MS, ms);
#else
    return curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (ms + 999) / 1000);
#endif
}

#endif
