/* store-sqlite-error.c: SQLite result codes to -errno and StoreError.
 *
 * This is the one place that converts SQLite's codes (STYLE.md rule 3). The
 * store runs with extended result codes on, so a constraint failure says
 * which constraint and an I/O error says which operation failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store-sqlite.h"

static int store_errno_from_constraint(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return -ENOENT; /* the run a node or event belongs to does not exist */
    default:
        return -EINVAL;
    }
}

static bool store_errno_is_full(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

static int store_file_errno(sqlite3 *db, int op)
{
    sqlite3_file *f = NULL;
    int err = 0;

    if (op == SQLITE_FCNTL_LAST_ERRNO) {
        if (sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &err) != SQLITE_OK)
            return 0;
        return err;
    }
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f || !f->pMethods)
        return 0;
    if (f->pMethods->xFileControl(f, SQLITE_FCNTL_LAST_ERRNO, &err) != SQLITE_OK)
        return 0;
    return err;
}

/* The errno behind an I/O error. sqlite3_system_errno() reads errno after
 * the fact, which later calls may have overwritten; each file also keeps the
 * errno of its own last failure, and the WAL file is the one commits write.
 * A full disk wins over whatever else is found. A write that fails because
 * the file system is full surfaces as SQLITE_FULL or as SQLITE_IOERR_WRITE
 * with ENOSPC (EFBIG under RLIMIT_FSIZE, EDQUOT over a quota). */
static int store_sys_errno(sqlite3 *db)
{
    int errs[3] = {0};

    if (!db)
        return 0;
    errs[0] = sqlite3_system_errno(db);
    errs[1] = store_file_errno(db, SQLITE_FCNTL_JOURNAL_POINTER);
    errs[2] = store_file_errno(db, SQLITE_FCNTL_LAST_ERRNO);
    for (int i = 0; i < 3; i++)
        if (store_errno_is_full(errs[i]))
            return errs[i];
    for (int i = 0; i < 3; i++)
        if (errs[i] > 0)
            return errs[i];
    return 0;
}

static int store_errno_from_ioerr(sqlite3 *db) { return store_errno_is_full(store_sys_errno(db)) ? -ENOSPC : -EIO; }

int store_errno_from_sqlite(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_IOERR:
        return store_errno_from_ioerr(db);
    case SQLITE_CONSTRAINT:
        return store_errno_from_constraint(rc);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_CANTOPEN: {
        int sys = db ? sqlite3_system_errno(db) : 0;
        return sys > 0 ? -sys : -ENOENT;
    }
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_INTERRUPT:
        return -EINTR;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
        return -EINVAL;
    default: /* SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_ERROR, ... */
        return -EIO;
    }
}

int store_err(StoreError *e, int neg_errno, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return neg_errno;
    e->err = -neg_errno;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return neg_errno;
}

int store_err_wrap(StoreError *e, int neg_errno, const char *fmt, ...)
{
    char inner[sizeof(e->msg)];
    char outer[sizeof(e->msg) - 1];
    va_list ap;

    if (!e)
        return neg_errno;
    memcpy(inner, e->msg, sizeof(inner));
    inner[sizeof(inner) - 1] = '\0';
    va_start(ap, fmt);
    vsnprintf(outer, sizeof(outer), fmt, ap);
    va_end(ap);
    e->err = -neg_errno;
    /* Truncation is acceptable: the context comes first, the rest is detail. */
    size_t n = strlen(outer);
    memcpy(e->msg, outer, n);
    if (n + 2 < sizeof(e->msg)) {
        memcpy(e->msg + n, ": ", 2);
        n += 2;
        size_t m = strnlen(inner, sizeof(e->msg) - n - 1);
        memcpy(e->msg + n, inner, m);
        n += m;
    }
    e->msg[n] = '\0';
    return neg_errno;
}

/* The message names the operation, SQLite's text and, for errors that come
 * from the operating system, the errno text, which is what an operator needs
 * to act on ("No space left on device" rather than "disk I/O error"). */
int store_err_sqlite(StoreError *e, sqlite3 *db, int rc, const char *what)
{
    int r = store_errno_from_sqlite(db, rc);
    const char *text = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int prim = rc & 0xff;
    /* SQLITE_FULL carries no errno of its own; the last one may be stale. */
    int sys = prim == SQLITE_FULL ? 0 : store_sys_errno(db);

    if (r == 0)
        r = -EIO; /* a caller that reports an error always gets one */
    if (prim == SQLITE_IOERR || prim == SQLITE_FULL || prim == SQLITE_CANTOPEN)
        return store_err(e, r, "%s: %s (%s, SQLite code %d)", what, text, strerror(sys > 0 ? sys : -r), rc);
    return store_err(e, r, "%s: %s", what, text);
}

bool store_err_is_write_failure(int neg_errno)
{
    return neg_errno == -ENOSPC || neg_errno == -EIO || neg_errno == -ENOMEM;
}
