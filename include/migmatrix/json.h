/* json.h: a small streaming JSON writer over a GString.
 *
 * None of the project's fixed dependencies writes JSON, so this is the one place that does.
 * It escapes every string per RFC 8259 and tracks commas, nothing more. */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct {
    GString *out;
    GArray *first;     /* per nesting level: no member written yet */
    bool pretty;
    bool after_key;    /* a key was written: its value needs no comma */
} MmJson;

void mm_json_init(MmJson *j, GString *out, bool pretty);
void mm_json_clear(MmJson *j);

void mm_json_begin_object(MmJson *j);
void mm_json_end_object(MmJson *j);
void mm_json_begin_array(MmJson *j);
void mm_json_end_array(MmJson *j);
/* Inside an object: the member name; the value follows with one of the calls below. */
void mm_json_key(MmJson *j, const char *key);
void mm_json_string(MmJson *j, const char *s);   /* NULL writes null */
void mm_json_int(MmJson *j, gint64 v);
void mm_json_bool(MmJson *j, bool v);
void mm_json_null(MmJson *j);

/* Shorthands for "key": value inside an object. */
void mm_json_kv_string(MmJson *j, const char *key, const char *s);
void mm_json_kv_int(MmJson *j, const char *key, gint64 v);
void mm_json_kv_bool(MmJson *j, const char *key, bool v);

void mm_json_escape(GString *out, const char *s);
