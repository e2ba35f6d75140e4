/*
 * The C reference for the delivery benchmark: the least a libcurl program must do to hand the same messages to the
 * same relay. circulate's floors (issue 11) are measured against it: CPU per message and messages per second.
 *
 * Usage: curl_reference -u URL -f FROM -n COUNT [-t THREADS] [-d DATABASE [-b BATCH]] MESSAGE_FILE
 *   URL      e.g. smtp://127.0.0.1:2525/example.org (the path is the EHLO name, as circulate sends it)
 *   FROM     the envelope sender, e.g. cop@example.org
 *   COUNT    messages to send; message K goes to <memberK@example.org>, one recipient per transaction
 *   THREADS  threads, each with ONE easy handle reused for all its messages (so one SMTP connection each)
 * The message bytes are read once into memory (CRLF line ends, as circulate writes them) and sent unchanged.
 * DATABASE a circulate database with COUNT messages queued (daemon stopped): the reference then keeps the same durable
 *          state circulate promises, and no more. Each thread in turn, in one IMMEDIATE transaction committed under
 *          synchronous=FULL, records its last BATCH messages sent and marks its next BATCH due ones `sending` before
 *          any SMTP traffic. No composition, no eligibility, no last check, no hand-off between threads: the least
 *          any sender keeping that promise must add to the plain reference (the benchmark's "durable floor").
 * BATCH    messages per thread per transaction (default 64, circulate's in-flight window per connection).
 * Prints one JSON line {"messages":..,"failed":..,"seconds":..,"rate":..}; exits 1 if any transfer failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url, *from;
static char *message;
static size_t message_size;
static long count;
static int threads = 1;
static sqlite3 *db;
static int batch = 64;
static long claimed_total;
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_stmt *begin_stmt, *commit_stmt, *due_stmt, *claim_stmt, *sent_stmt;

struct upload {
    size_t offset;
};

static size_t read_message(char *buffer, size_t size, size_t items, void *userdata) {
    struct upload *up = userdata;
    size_t left = message_size - up->offset, room = size * items;
    size_t n = left < room ? left : room;
    memcpy(buffer, message + up->offset, n);
    up->offset += n;
    return n;
}

struct worker {
    int index;
    long failed;
};

static int turn(sqlite3_int64 *ids, int done);
static int send_one(CURL *curl, struct upload *up, long k, struct worker *w);

static void *send_share(void *arg) {
    struct worker *w = arg;
    CURL *curl = curl_easy_init();
    if (!curl) {
        fprintf(stderr, "curl_reference: curl_easy_init failed\n");
        w->failed = count;
        return NULL;
    }
    struct upload up;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)message_size);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (db) {
        sqlite3_int64 *ids = calloc((size_t)batch, sizeof *ids);
        int claimed = 0, sent = 0;
        while (ids && (claimed = turn(ids, sent)) > 0) {
            sent = 0;
            for (int i = 0; i < claimed; i++) sent += send_one(curl, &up, (long)ids[i], w);
            if (sent < claimed) { sent = 0; break; }  /* a failed message: stop (the benchmark expects none) */
        }
        if (claimed < 0) w->failed = count;
        free(ids);
    } else {
        for (long k = w->index; k < count; k += threads) send_one(curl, &up, k, w);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

static int prepare(const char *sql, sqlite3_stmt **stmt) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) == SQLITE_OK) return 1;
    fprintf(stderr, "curl_reference: %s: %s\n", sql, sqlite3_errmsg(db));
    return 0;
}

static int step_done(sqlite3_stmt *stmt) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) return 1;
    fprintf(stderr, "curl_reference: %s\n", sqlite3_errmsg(db));
    return 0;
}

/* The time as circulate stores it. */
static void stamp(char *out, size_t size) {
    struct timespec now;
    struct tm utc;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);
    size_t n = strftime(out, size, "%Y-%m-%d %H:%M:%S", &utc);
    snprintf(out + n, size - n, ".%03ld", now.tv_nsec / 1000000);
}

/* One transaction: `done` messages of `ids` recorded sent, then up to `batch` due ones claimed into `ids`.
   Returns how many were claimed, or -1. */
static int turn(sqlite3_int64 *ids, int done) {
    char now[32];
    int claimed = 0;
    pthread_mutex_lock(&db_lock);
    stamp(now, sizeof now);
    if (!step_done(begin_stmt)) goto fail;
    for (int i = 0; i < done; i++) {
        sqlite3_bind_text(sent_stmt, 1, "250 2.0.0 Ok: queued", -1, SQLITE_STATIC);
        sqlite3_bind_text(sent_stmt, 2, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(sent_stmt, 3, ids[i]);
        if (!step_done(sent_stmt)) goto rollback;
    }
    long room = count - claimed_total < batch ? count - claimed_total : batch;
    if (room > 0) {
        sqlite3_bind_text(due_stmt, 1, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(due_stmt, 2, room);
        while (sqlite3_step(due_stmt) == SQLITE_ROW) ids[claimed++] = sqlite3_column_int64(due_stmt, 0);
        sqlite3_reset(due_stmt);
        for (int i = 0; i < claimed; i++) {
            sqlite3_bind_text(claim_stmt, 1, now, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(claim_stmt, 2, ids[i]);
            if (!step_done(claim_stmt)) goto rollback;
        }
    }
    if (!step_done(commit_stmt)) goto rollback;
    claimed_total += claimed;
    pthread_mutex_unlock(&db_lock);
    return claimed;
rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
fail:
    pthread_mutex_unlock(&db_lock);
    return -1;
}

static int send_one(CURL *curl, struct upload *up, long k, struct worker *w) {
    char recipient[64];
    snprintf(recipient, sizeof recipient, "<member%ld@example.org>", k);
    struct curl_slist *rcpt = curl_slist_append(NULL, recipient);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    up->offset = 0;
    CURLcode res = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpt);
    if (res != CURLE_OK || code != 250) {
        if (w->failed++ < 5) fprintf(stderr, "curl_reference: message %ld: %s (reply %ld)\n", k, curl_easy_strerror(res), code);
        return 0;
    }
    return 1;
}

static char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *data = malloc(cap);
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) data = realloc(data, cap *= 2);
    }
    fclose(f);
    *size = n;
    return data;
}

int main(int argc, char **argv) {
    int opt;
    const char *database = NULL;
    while ((opt = getopt(argc, argv, "u:f:n:t:d:b:")) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'f': from = optarg; break;
        case 'n': count = atol(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'd': database = optarg; break;
        case 'b': batch = atoi(optarg); break;
        default: goto usage;
        }
    }
    if (!url || !from || count <= 0 || threads <= 0 || optind != argc - 1) goto usage;
    message = read_file(argv[optind], &message_size);
    if (!message || message_size == 0) {
        fprintf(stderr, "curl_reference: cannot read %s\n", argv[optind]);
        return 66;
    }
    if (database) {
        if (batch <= 0 || sqlite3_open_v2(database, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK
            || sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000",
                            NULL, NULL, NULL) != SQLITE_OK
            || !prepare("BEGIN IMMEDIATE", &begin_stmt) || !prepare("COMMIT", &commit_stmt)
            || !prepare("SELECT id FROM delivery WHERE state IN ('deferred', 'queued') AND next_attempt_at <= ?1"
                        " ORDER BY next_attempt_at, id LIMIT ?2", &due_stmt)
            || !prepare("UPDATE delivery SET state = 'sending', attempts = attempts + 1, last_attempt_at = ?1,"
                        " updated_at = ?1 WHERE id = ?2", &claim_stmt)
            || !prepare("UPDATE delivery SET state = 'sent', reply_code = 250, reply = ?1, failure = NULL,"
                        " updated_at = ?2 WHERE id = ?3 AND state = 'sending'", &sent_stmt)) {
            fprintf(stderr, "curl_reference: cannot use the database %s: %s\n", database, db ? sqlite3_errmsg(db) : "");
            return 66;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < threads; i++) {
        workers[i].index = i;
        pthread_create(&ids[i], NULL, send_share, &workers[i]);
    }
    long failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        failed += workers[i].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("{\"messages\": %ld, \"failed\": %ld, \"seconds\": %.6f, \"rate\": %.1f}\n", count - failed, failed, seconds,
           (double)(count - failed) / seconds);
    curl_global_cleanup();
    free(workers);
    free(ids);
    free(message);
    if (db) sqlite3_close_v2(db);
    return failed ? 1 : 0;
usage:
    fprintf(stderr, "usage: curl_reference -u URL -f FROM -n COUNT [-t THREADS] [-d DATABASE [-b BATCH]] MESSAGE_FILE\n");
    return 64;
}
