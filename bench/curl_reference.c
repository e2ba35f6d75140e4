/*
 * The C reference for the delivery benchmark: the least a libcurl program must do to hand the same messages to the
 * same relay. circulate's floors (issue 11) are measured against it: CPU per message and messages per second.
 *
 * Usage: curl_reference -u URL -f FROM -n COUNT [-t THREADS] MESSAGE_FILE
 *   URL      e.g. smtp://127.0.0.1:2525/example.org (the path is the EHLO name, as circulate sends it)
 *   FROM     the envelope sender, e.g. cop@example.org
 *   COUNT    messages to send; message K goes to <memberK@example.org>, one recipient per transaction
 *   THREADS  threads, each with ONE easy handle reused for all its messages (so one SMTP connection each)
 * The message bytes are read once into memory (CRLF line ends, as circulate writes them) and sent unchanged.
 * Prints one JSON line {"messages":..,"failed":..,"seconds":..,"rate":..}; exits 1 if any transfer failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <pthread.h>
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
    char recipient[64];
    for (long k = w->index; k < count; k += threads) {
        snprintf(recipient, sizeof recipient, "<member%ld@example.org>", k);
        struct curl_slist *rcpt = curl_slist_append(NULL, recipient);
        curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
        up.offset = 0;
        CURLcode res = curl_easy_perform(curl);
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(rcpt);
        if (res != CURLE_OK || code != 250) {
            if (w->failed++ < 5) fprintf(stderr, "curl_reference: message %ld: %s (reply %ld)\n", k, curl_easy_strerror(res), code);
        }
    }
    curl_easy_cleanup(curl);
    return NULL;
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
    while ((opt = getopt(argc, argv, "u:f:n:t:")) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'f': from = optarg; break;
        case 'n': count = atol(optarg); break;
        case 't': threads = atoi(optarg); break;
        default: goto usage;
        }
    }
    if (!url || !from || count <= 0 || threads <= 0 || optind != argc - 1) goto usage;
    message = read_file(argv[optind], &message_size);
    if (!message || message_size == 0) {
        fprintf(stderr, "curl_reference: cannot read %s\n", argv[optind]);
        return 66;
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
    return failed ? 1 : 0;
usage:
    fprintf(stderr, "usage: curl_reference -u URL -f FROM -n COUNT [-t THREADS] MESSAGE_FILE\n");
    return 64;
}
