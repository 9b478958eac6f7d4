// The Symphra module `{{name}}`, in C without libc. The canonical ABI of the WIT world in
// wit/module.wit (`symphra:module/module@0.1.0`) is written by hand below.
//
// When it starts it subscribes to `{{name}}.request`, and answers each request on
// `{{name}}.reply` with `{"request":<the request's payload>}`. Build: ./build.sh

#include <stddef.h>
#include <stdint.h>

#define HOST(name) \
    __attribute__((import_module("symphra:module/host@0.1.0"), import_name(name)))
#define HOOK(name) __attribute__((export_name("symphra:module/guest@0.1.0#" name)))

// `result<_, string>` in linear memory: the tag at offset 0, the string at 4 and 8.
typedef struct {
    uint8_t is_err;
    const char *ptr;
    size_t len;
} result_t;

HOST("log") extern void host_log(int32_t level, const char *msg, size_t len);
HOST("publish")
extern void host_publish(const char *topic, size_t topic_len, const char *payload,
                         size_t payload_len, result_t *ret);
HOST("subscribe") extern void host_subscribe(const char *pattern, size_t len, result_t *ret);

enum { LOG_INFO = 2 };

static result_t RET;
static result_t CALL;

// Memory for the arguments the host passes to an export: a bump allocator over the memory
// after the data, emptied when the export returns.
extern unsigned char __heap_base;
static uintptr_t top;

static void release(void) { top = (uintptr_t)&__heap_base; }

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size,
                                                              size_t align, size_t size) {
    if (!top) release();
    uintptr_t p = (top + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t end = p + size;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1)
        __builtin_trap();
    unsigned char *dst = (unsigned char *)p;
    const unsigned char *src = old;
    for (size_t i = 0; i < old_size && i < size; i++) dst[i] = src[i];
    top = end;
    return dst;
}

static size_t length(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static void info(const char *msg) { host_log(LOG_INFO, msg, length(msg)); }

static result_t *ok(void) {
    release();
    RET.is_err = 0;
    return &RET;
}

static result_t *fail(const char *why) {
    release();
    RET.is_err = 1;
    RET.ptr = why;
    RET.len = length(why);
    return &RET;
}

// Passes the error of a host call on as the hook's result.
static result_t *forward(const result_t *r) {
    RET = *r;
    return &RET;
}

HOOK("bootstrap") result_t *bootstrap(void) {
    info("{{name}}: bootstrap");
    return ok();
}

HOOK("install") result_t *install(const char *config, size_t config_len) {
    // The configuration is JSON text, already checked against the schema of module.toml.
    (void)config;
    (void)config_len;
    info("{{name}}: installed");
    return ok();
}

HOOK("start") result_t *start(void) {
    static const char pattern[] = "{{name}}.request";
    host_subscribe(pattern, sizeof pattern - 1, &CALL);
    if (CALL.is_err) return forward(&CALL);
    info("{{name}}: started");
    return ok();
}

HOOK("stop") result_t *stop(void) {
    info("{{name}}: stopped");
    return ok();
}

HOOK("uninstall") result_t *uninstall(void) { return ok(); }

HOOK("reload") result_t *reload(void) { return ok(); }

static char reply[4096];

HOOK("on-event")
result_t *on_event(const char *topic, size_t topic_len, const char *payload, size_t payload_len) {
    (void)topic;
    (void)topic_len;
    static const char head[] = "{\"request\":";
    size_t n = 0;
    if (payload_len > sizeof reply - sizeof head - 1) return fail("request too large");
    for (size_t i = 0; i < sizeof head - 1; i++) reply[n++] = head[i];
    for (size_t i = 0; i < payload_len; i++) reply[n++] = payload[i];
    reply[n++] = '}';
    static const char out[] = "{{name}}.reply";
    host_publish(out, sizeof out - 1, reply, n, &CALL);
    if (CALL.is_err) return forward(&CALL);
    return ok();
}
