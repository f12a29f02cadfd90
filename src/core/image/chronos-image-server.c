/* chronos-image-server.c: a read-only NBD export of a backup image on a Unix socket
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU cannot open differencing VHDX chains, images with a pending log or
 * with 4096-byte sectors read-only; Chronos's own reader can. This server
 * hands that reader's view of the disk to QEMU (and qemu-img, nbdinfo,
 * nbdfuse, guestfish) over the NBD protocol, as the read-only base node
 * under the VM's qcow2 overlay.
 *
 * Protocol: fixed newstyle handshake (NBD_OPT_GO, INFO, LIST, ABORT,
 * EXPORT_NAME for old clients; everything else "unsupported"), simple
 * replies, READ and DISC. Every write-like command is refused with EPERM
 * and every other with EINVAL; no code path here writes to any image.
 *
 * Threads: one accept thread; one thread per connection that reads
 * requests and a small pool per connection that serves READs (the chain
 * reader is immutable), so a client with many requests in flight (QEMU
 * sends up to 16) gets them served in parallel, and a client that stops
 * reading its replies only stalls its own threads. A read alone in flight
 * is served by the request thread itself, which then polls briefly for
 * the next one (receive_requests()). Requests in flight are bounded
 * in number and bytes per connection, a read in length (32 MiB), and
 * connections in number. Clients are untrusted: every length is checked
 * before anything is allocated or read.
 *
 * Replies: on Linux, a read whose bytes are plain runs of the image files
 * and zeros (chronos_vhdx_map(), the same checks as a read) goes out with
 * sendfile(), from the page cache to the socket without a copy; anything
 * else (a sector bitmap, a replayed log, a damaged entry), and a small
 * read alone in flight, is read into a buffer with
 * chronos_image_chain_read() and sent with its header in one send.
 */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <sys/socket.h>
#include <sys/stat.h>
#else
#include <winsock2.h>
#endif

#ifdef __linux__
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
/* Replies go out with sendfile(): the page cache straight to the socket. */
#define SEND_FROM_FILE 1
#endif

#include "chronos-image-server.h"

/* Handshake (all numbers big-endian on the wire). */
#define NBD_MAGIC G_GUINT64_CONSTANT (0x4e42444d41474943)    /* "NBDMAGIC" */
#define NBD_IHAVEOPT G_GUINT64_CONSTANT (0x49484156454F5054) /* "IHAVEOPT" */
#define NBD_REP_MAGIC G_GUINT64_CONSTANT (0x0003e889045565a9)
#define NBD_FLAG_FIXED_NEWSTYLE (1 << 0)
#define NBD_FLAG_NO_ZEROES (1 << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1 << 0)
#define NBD_FLAG_C_NO_ZEROES (1 << 1)

#define NBD_OPT_EXPORT_NAME 1
#define NBD_OPT_ABORT 2
#define NBD_OPT_LIST 3
#define NBD_OPT_INFO 6
#define NBD_OPT_GO 7

#define NBD_REP_ACK 1
#define NBD_REP_SERVER 2
#define NBD_REP_INFO 3
#define NBD_REP_ERR_UNSUP (0x80000000u + 1)
#define NBD_REP_ERR_INVALID (0x80000000u + 3)
#define NBD_REP_ERR_UNKNOWN (0x80000000u + 6)
#define NBD_REP_ERR_TOO_BIG (0x80000000u + 9)

#define NBD_INFO_EXPORT 0
#define NBD_INFO_NAME 1
#define NBD_INFO_DESCRIPTION 2
#define NBD_INFO_BLOCK_SIZE 3

/* Transmission flags. */
#define NBD_FLAG_HAS_FLAGS (1 << 0)
#define NBD_FLAG_READ_ONLY (1 << 1)
#define NBD_FLAG_CAN_MULTI_CONN (1 << 8)

/* Transmission. */
#define NBD_REQUEST_MAGIC 0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698u
#define NBD_CMD_READ 0
#define NBD_CMD_WRITE 1
#define NBD_CMD_DISC 2
#define NBD_CMD_TRIM 4
#define NBD_CMD_WRITE_ZEROES 6
#define NBD_CMD_RESIZE 8
#define NBD_EPERM 1
#define NBD_EIO 5
#define NBD_ENOMEM 12
#define NBD_EINVAL 22

#define REQUEST_SIZE 28
#define REPLY_SIZE 16

/* Limits that protect the server from its clients. */
#define MAX_READ (32u * 1024 * 1024)            /* NBD_INFO_BLOCK_SIZE maximum */
#define MAX_IN_FLIGHT 32                        /* requests per connection */
#define MAX_IN_FLIGHT_BYTES (64u * 1024 * 1024) /* buffers per connection */
#define MAX_OPTION (8u * 1024)                  /* a name (≤ 4096) and info requests */
#define MAX_OPTION_DRAIN (1024u * 1024)         /* larger options end the connection */
#define MAX_STRING 4096                         /* NBD strings */
#define MAX_CONNECTIONS 32
#define ONE_SEND_MAX (256u * 1024) /* see transmission() */
#define MAX_SOCKET_PATH 107        /* sun_path minus its NUL */
#define MAX_SEGMENTS 64            /* pieces of one reply sent from the file */
#define POLL_START_US 4            /* see receive_requests() */
#define POLL_MAX_US 50

/* What the threads share. Reference-counted, because a connection thread
 * may still be unwinding after the server object is gone. */
typedef struct
{
  ChronosImageChain *chain;
  guint64            size;
  guint32            min_block;
  guint32            preferred_block;
  char              *export_name; /* the image's file name: an alias of "" */
  char              *description;
  guint              workers;
  gboolean           poll; /* more than one processor: see receive_requests() */

  GMutex     lock;
  GCond      cond;
  GPtrArray *connections; /* Connection, under lock */
  gboolean   stopping;

  GMainContext *context; /* where "client-closed" is emitted */
  GWeakRef      server;
} State;

typedef struct
{
  gatomicrefcount ref;
  State          *state;
  GSocket        *socket;
  GThreadPool    *pool;
  gboolean        strict_alignment; /* the client asked for block sizes */

  GMutex   write_lock; /* one reply at a time on the wire */
  gboolean broken;     /* a send failed: no more replies */

  GMutex  lock;
  GCond   cond;
  guint   in_flight;
  guint64 in_flight_bytes;
} Connection;

typedef struct
{
  Connection *connection;
  guint8      handle[8];
  guint64     offset;
  guint32     length;
  gboolean    inline_read; /* served by the request thread: see transmission() */
} ReadJob;

struct _ChronosImageServer
{
  GObject parent_instance;

  ChronosImageChain *chain;
  char              *socket_path;
  char              *nbd_uri;
  State             *state;
  GSocket           *listener;
  GCancellable      *accept_cancellable;
  GThread           *accept_thread;
#ifdef G_OS_UNIX
  guint64 socket_dev;
  guint64 socket_ino;
#endif
};

G_DEFINE_FINAL_TYPE (ChronosImageServer, chronos_image_server, G_TYPE_OBJECT)

enum
{
  SIGNAL_CLIENT_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* --- Shared state ------------------------------------------------------ */

static State *
state_ref (State *state)
{
  return g_atomic_rc_box_acquire (state);
}

static void
state_clear (State *state)
{
  g_clear_object (&state->chain);
  g_free (state->export_name);
  g_free (state->description);
  g_mutex_clear (&state->lock);
  g_cond_clear (&state->cond);
  g_ptr_array_unref (state->connections);
  g_main_context_unref (state->context);
  g_weak_ref_clear (&state->server);
}

static void
state_unref (State *state)
{
  g_atomic_rc_box_release_full (state, (GDestroyNotify)state_clear);
}

static Connection *
connection_ref (Connection *connection)
{
  g_atomic_ref_count_inc (&connection->ref);
  return connection;
}

static void
connection_unref (Connection *connection)
{
  if (!g_atomic_ref_count_dec (&connection->ref))
    return;
  g_object_unref (connection->socket);
  g_mutex_clear (&connection->write_lock);
  g_mutex_clear (&connection->lock);
  g_cond_clear (&connection->cond);
  state_unref (connection->state);
  g_free (connection);
}

/* --- Wire helpers ------------------------------------------------------ */

static inline void
put16 (guint8 *p,
       guint16 v)
{
  v = GUINT16_TO_BE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put32 (guint8 *p,
       guint32 v)
{
  v = GUINT32_TO_BE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put64 (guint8 *p,
       guint64 v)
{
  v = GUINT64_TO_BE (v);
  memcpy (p, &v, sizeof v);
}

static inline guint16
get16 (const guint8 *p)
{
  guint16 v;

  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_BE (v);
}

static inline guint32
get32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_BE (v);
}

static inline guint64
get64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_BE (v);
}

/* FALSE on end of file, error or shutdown: the connection is over. */
static gboolean
recv_all (GSocket *socket,
          void    *buffer,
          gsize    length)
{
  gsize done = 0;

  while (done < length)
    {
      g_autoptr (GError) error = NULL;
      gssize got = g_socket_receive (socket, (char *)buffer + done, length - done, NULL, &error);

      if (got <= 0)
        return FALSE;
      done += (gsize)got;
    }
  return TRUE;
}

static gboolean
send_all (GSocket    *socket,
          const void *buffer,
          gsize       length)
{
  gsize done = 0;

  while (done < length)
    {
      g_autoptr (GError) error = NULL;
      gssize sent = g_socket_send (socket, (const char *)buffer + done, length - done, NULL, &error);

      if (sent <= 0)
        return FALSE;
      done += (gsize)sent;
    }
  return TRUE;
}

/* Reads and drops @length bytes the client sent (an unwanted payload). */
static gboolean
drain (GSocket *socket,
       guint64  length)
{
  guint8 scrap[16 * 1024];

  while (length > 0)
    {
      gsize n = (gsize)MIN (length, (guint64)sizeof scrap);

      if (!recv_all (socket, scrap, n))
        return FALSE;
      length -= n;
    }
  return TRUE;
}

/* --- Transmission ------------------------------------------------------ */

/* Sends a reply; @buffer starts with REPLY_SIZE bytes of room for the
 * header, then @data_length bytes of data. */
static void
send_reply (Connection  *connection,
            guint8      *buffer,
            const guint8 handle[8],
            guint32      nbd_error,
            gsize        data_length)
{
  put32 (buffer, NBD_SIMPLE_REPLY_MAGIC);
  put32 (buffer + 4, nbd_error);
  memcpy (buffer + 8, handle, 8);

  g_mutex_lock (&connection->write_lock);
  if (!connection->broken && !send_all (connection->socket, buffer, REPLY_SIZE + (nbd_error == 0 ? data_length : 0)))
    {
      /* The client is gone or stuck; wake the request thread too. */
      connection->broken = TRUE;
      g_socket_shutdown (connection->socket, TRUE, TRUE, NULL);
    }
  g_mutex_unlock (&connection->write_lock);
}

static void
send_error_reply (Connection  *connection,
                  const guint8 handle[8],
                  guint32      nbd_error)
{
  guint8 header[REPLY_SIZE];

  send_reply (connection, header, handle, nbd_error, 0);
}

#ifdef SEND_FROM_FILE

/* A piece of a reply: @length bytes of the file @fd at @file_offset, or
 * zeros where @fd is -1. */
typedef struct
{
  int     fd;
  guint64 file_offset;
  guint64 length;
} Segment;

/* Splits a read into runs of image files and zeros, going down the chain
 * where a differencing image leaves bytes to its parent, as
 * chronos_image_chain_read() does. Returns 0 when a part needs the reader
 * itself (a sector bitmap, a replayed log, a damaged entry) or the read
 * has too many pieces: it then goes through a buffer, with every check. */
static guint
plan_segments (ChronosImageChain *chain,
               guint64            offset,
               guint64            length,
               Segment           *segments)
{
  guint n_images = chronos_image_chain_get_length (chain);
  guint n = 0;

  while (length > 0)
    {
      Segment piece = { -1, 0, length };

      for (guint depth = 0;; depth++)
        {
          ChronosVhdx      *image = chronos_image_chain_get_image (chain, depth);
          guint64           size = chronos_vhdx_get_virtual_size (image);
          ChronosVhdxExtent extent;

          /* A parent may be shorter than its child: the rest reads as zeros. */
          if (depth > 0)
            {
              if (offset >= size)
                break;
              piece.length = MIN (piece.length, size - offset);
            }
          if (!chronos_vhdx_map (image, offset, piece.length, &extent, NULL))
            return 0;
          piece.length = extent.length;
          if (extent.kind == CHRONOS_VHDX_EXTENT_DATA)
            {
              piece.fd = chronos_vhdx_get_fd (image);
              piece.file_offset = extent.file_offset;
              break;
            }
          if (extent.kind == CHRONOS_VHDX_EXTENT_ZERO)
            break;
          if (extent.kind != CHRONOS_VHDX_EXTENT_PARENT || depth + 1 >= n_images)
            return 0;
        }

      if (n > 0 && segments[n - 1].fd == piece.fd &&
          (piece.fd < 0 || segments[n - 1].file_offset + segments[n - 1].length == piece.file_offset))
        segments[n - 1].length += piece.length;
      else if (n == MAX_SEGMENTS)
        return 0;
      else
        segments[n++] = piece;
      offset += piece.length;
      length -= piece.length;
    }
  return n;
}

/* TRUE when a send that failed with @sent may be tried again. The
 * descriptor is non-blocking, as GSocket leaves it (a blocking one made a
 * client waiting for a small reply wake up more often): a full socket is
 * waited for here. Shutting the socket down ends the wait. */
static gboolean
send_again (int     fd,
            ssize_t sent)
{
  struct pollfd pfd = { fd, POLLOUT, 0 };

  if (sent >= 0)
    return FALSE;
  if (errno == EINTR)
    return TRUE;
  if (errno != EAGAIN)
    return FALSE;
  while (poll (&pfd, 1, -1) < 0)
    if (errno != EINTR)
      return FALSE;
  return TRUE;
}

static gboolean
send_fd_all (int         fd,
             const void *buffer,
             gsize       length)
{
  while (length > 0)
    {
      ssize_t sent = send (fd, buffer, length, MSG_NOSIGNAL);

      if (send_again (fd, sent))
        continue;
      if (sent <= 0)
        return FALSE;
      buffer = (const guint8 *)buffer + sent;
      length -= (gsize)sent;
    }
  return TRUE;
}

/* sendfile() failed on the file side (a filesystem without splice
 * support, or the file shrank): the rest of @segment goes through a
 * buffer. The header is already out, so a read that fails here can only
 * end the connection. */
static gboolean
send_segment_copied (int     socket_fd,
                     int     file_fd,
                     guint64 offset,
                     guint64 length)
{
  g_autofree guint8 *buffer = g_malloc (64 * 1024);

  while (length > 0)
    {
      ssize_t got = pread (file_fd, buffer, (gsize)MIN (length, (guint64)64 * 1024), (off_t)offset);

      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0 || !send_fd_all (socket_fd, buffer, (gsize)got))
        return FALSE;
      offset += (guint64)got;
      length -= (guint64)got;
    }
  return TRUE;
}

static gboolean
send_segment (int            socket_fd,
              const Segment *segment)
{
  static const guint8 zeros[64 * 1024];
  guint64             offset = segment->file_offset;
  guint64             length = segment->length;

  while (length > 0)
    {
      ssize_t sent;

      if (segment->fd < 0)
        sent = send (socket_fd, zeros, (gsize)MIN (length, (guint64)sizeof zeros), MSG_NOSIGNAL);
      else
        {
          off_t at = (off_t)offset;

          sent = sendfile (socket_fd, segment->fd, &at, (gsize)MIN (length, (guint64)G_MAXINT32));
          if (sent == 0 || (sent < 0 && errno != EAGAIN && errno != EINTR && errno != EPIPE &&
                            errno != ECONNRESET && errno != ENOTCONN))
            return send_segment_copied (socket_fd, segment->fd, offset, length);
        }
      if (send_again (socket_fd, sent))
        continue;
      if (sent <= 0)
        return FALSE;
      offset += (guint64)sent;
      length -= (guint64)sent;
    }
  return TRUE;
}

/* Only data already in the page cache goes out with sendfile(). A cold
 * read goes through a buffer instead: the pread happens before the reply's
 * header, so a bad sector on the backup's disk costs that one request an
 * I/O error, as from a real disk, instead of the whole connection (past the
 * header the only way to report it is to hang up). The preads of requests
 * in flight also overlap, where sendfile() reads would queue behind the
 * write lock. Whether a segment is cached costs a one-byte read at each end
 * that never waits. */
static gboolean
segments_cached (const Segment *segments,
                 guint          n_segments)
{
  for (guint i = 0; i < n_segments; i++)
    {
      guint64 ends[2] = { segments[i].file_offset, segments[i].file_offset + segments[i].length - 1 };

      if (segments[i].fd < 0)
        continue;
      for (guint e = 0; e < G_N_ELEMENTS (ends); e++)
        {
          guint8       probe;
          struct iovec iov = { &probe, 1 };

          if (preadv2 (segments[i].fd, &iov, 1, (off_t)ends[e], RWF_NOWAIT) != 1)
            return FALSE;
        }
    }
  return TRUE;
}

/* Sends a successful reply whose data comes from @segments. */
static void
send_segments_reply (Connection    *connection,
                     const guint8   handle[8],
                     const Segment *segments,
                     guint          n_segments)
{
  int      fd = g_socket_get_fd (connection->socket);
  guint8   header[REPLY_SIZE];
  sigset_t pipe_only, old;
  gboolean ok;
  int      saved_errno;

  put32 (header, NBD_SIMPLE_REPLY_MAGIC);
  put32 (header + 4, 0);
  memcpy (header + 8, handle, 8);

  /* sendfile() has no MSG_NOSIGNAL: a client gone away would end the
   * whole process with SIGPIPE. It is held back in this thread and taken
   * back when this call raised it. */
  sigemptyset (&pipe_only);
  sigaddset (&pipe_only, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_only, &old);

  g_mutex_lock (&connection->write_lock);
  ok = !connection->broken && send_fd_all (fd, header, sizeof header);
  for (guint i = 0; ok && i < n_segments; i++)
    ok = send_segment (fd, &segments[i]);
  saved_errno = errno;
  if (!ok && !connection->broken)
    {
      /* Past the header there is no way to report an error but to hang
       * up: the client sees the read fail. */
      g_debug ("NBD reply cut short: %s", g_strerror (saved_errno));
      connection->broken = TRUE;
      g_socket_shutdown (connection->socket, TRUE, TRUE, NULL);
    }
  g_mutex_unlock (&connection->write_lock);

  if (!ok && saved_errno == EPIPE && !sigismember (&old, SIGPIPE))
    {
      static const struct timespec no_wait = { 0, 0 };

      sigtimedwait (&pipe_only, NULL, &no_wait);
    }
  pthread_sigmask (SIG_SETMASK, &old, NULL);
}

#endif /* SEND_FROM_FILE */

/* Sends the reply from the page cache without copying it; FALSE when the
 * read must go through a buffer instead (nothing was sent). */
static gboolean
reply_from_file (Connection *connection,
                 ReadJob    *job)
{
#ifdef SEND_FROM_FILE
  Segment segments[MAX_SEGMENTS];
  guint   n_segments;

  if (job->inline_read && job->length <= ONE_SEND_MAX)
    return FALSE;
  n_segments = plan_segments (connection->state->chain, job->offset, job->length, segments);
  if (n_segments == 0)
    return FALSE;
  if (!segments_cached (segments, n_segments))
    return FALSE;
  send_segments_reply (connection, job->handle, segments, n_segments);
  return TRUE;
#else
  return FALSE;
#endif
}

static void
reply_from_buffer (Connection *connection,
                   ReadJob    *job)
{
  g_autoptr (GError) error = NULL;
  guint8 *buffer = g_try_malloc (REPLY_SIZE + (gsize)job->length);

  if (buffer == NULL)
    {
      send_error_reply (connection, job->handle, NBD_ENOMEM);
      return;
    }
  if (chronos_image_chain_read (connection->state->chain, buffer + REPLY_SIZE, job->offset, job->length, &error))
    send_reply (connection, buffer, job->handle, 0, job->length);
  else
    {
      /* A damaged image: the guest sees an I/O error, as from a bad disk. */
      g_debug ("NBD read of %u bytes at %" G_GUINT64_FORMAT " failed: %s", job->length, job->offset, error->message);
      send_reply (connection, buffer, job->handle, NBD_EIO, 0);
    }
  g_free (buffer);
}

static void
read_job_cb (gpointer data,
             gpointer user_data)
{
  ReadJob    *job = data;
  Connection *connection = job->connection;

  if (!reply_from_file (connection, job))
    reply_from_buffer (connection, job);

  g_mutex_lock (&connection->lock);
  connection->in_flight--;
  connection->in_flight_bytes -= job->length;
  g_cond_broadcast (&connection->cond);
  g_mutex_unlock (&connection->lock);

  connection_unref (connection);
  g_free (job);
}

static guint32
check_read (Connection *connection,
            guint16     flags,
            guint64     offset,
            guint32     length)
{
  State *state = connection->state;

  /* No flag applies to a read without structured replies (DF needs
   * them, FUA needs NBD_FLAG_SEND_FUA). */
  if (flags != 0)
    return NBD_EINVAL;
  if (length == 0 || length > MAX_READ)
    return NBD_EINVAL;
  if (offset > state->size || length > state->size - offset)
    return NBD_EINVAL;
  if (connection->strict_alignment && (offset % state->min_block != 0 || length % state->min_block != 0))
    return NBD_EINVAL;
  return 0;
}

/* The requests as they arrive: one receive takes all that the client has
 * sent so far (fewer system calls with many in flight), and what is left
 * after a request says that the client has more in flight. */
typedef struct
{
  guint8 data[16 * 1024];
  gsize  start;
  gsize  end;
  gint64 poll_us; /* see receive_requests() */
} Incoming;

/* Waits for the next requests. A client reading one block at a time sends
 * its next request a few microseconds after a reply; sleeping until then
 * and being woken cost more than the read itself (on a 2-core VM, 40,000
 * reads of 4 KiB and 64 KiB one at a time took 1.8 times as long as
 * through QEMU's own driver, and 1.05 times with this). So with
 * nothing in flight the request thread first polls the socket for a
 * while, as QEMU's iothreads do (poll-max-ns): adaptively, the window
 * grows while requests come within POLL_MAX_US and shrinks to nothing
 * when they do not, and never on a single processor, where it would keep
 * the client from running. */
static gssize
receive_requests (Connection *connection,
                  Incoming   *in)
{
  g_autoptr (GError) error = NULL;
  gint64   start = 0;
  gssize   got = -1;
  gboolean idle;

  g_mutex_lock (&connection->lock);
  idle = connection->in_flight == 0;
  g_mutex_unlock (&connection->lock);

  if (idle && connection->state->poll)
    {
      start = g_get_monotonic_time ();
#ifdef G_OS_UNIX
      while (in->poll_us > 0)
        {
          got = recv (g_socket_get_fd (connection->socket), (char *)in->data, sizeof in->data, MSG_DONTWAIT);
          if (got >= 0 || (errno != EAGAIN && errno != EINTR) || g_get_monotonic_time () - start >= in->poll_us)
            break;
        }
#endif
      if (got >= 0)
        return got; /* in the window: as it should be */
    }
  if (got < 0)
    got = g_socket_receive (connection->socket, (char *)in->data, sizeof in->data, NULL, &error);

  if (idle && connection->state->poll && got > 0)
    {
      gint64 waited = g_get_monotonic_time () - start;

      if (waited > POLL_MAX_US)
        in->poll_us /= 2;
      else if (in->poll_us < POLL_MAX_US)
        in->poll_us = in->poll_us > 0 ? MIN (in->poll_us * 2, POLL_MAX_US) : POLL_START_US;
    }
  return got;
}

/* Takes @length bytes into @out, or drops them when @out is NULL. */
static gboolean
incoming_take (Connection *connection,
               Incoming   *in,
               guint8     *out,
               gsize       length)
{
  while (length > 0)
    {
      gsize n;

      if (in->start == in->end)
        {
          gssize got = receive_requests (connection, in);

          if (got <= 0)
            return FALSE;
          in->start = 0;
          in->end = (gsize)got;
        }
      n = MIN (length, in->end - in->start);
      if (out != NULL)
        {
          memcpy (out, in->data + in->start, n);
          out += n;
        }
      in->start += n;
      length -= n;
    }
  return TRUE;
}

static void
transmission (Connection *connection)
{
  Incoming in = { .start = 0, .end = 0, .poll_us = 0 };
  guint8   request[REQUEST_SIZE];

  while (incoming_take (connection, &in, request, sizeof request))
    {
      guint16  flags = get16 (request + 4);
      guint16  type = get16 (request + 6);
      guint64  offset = get64 (request + 16);
      guint32  length = get32 (request + 24);
      guint32  nbd_error;
      gboolean idle;
      ReadJob *job;

      if (get32 (request) != NBD_REQUEST_MAGIC)
        return; /* out of step with the client: a hard disconnect */

      switch (type)
        {
        case NBD_CMD_READ:
          nbd_error = check_read (connection, flags, offset, length);
          if (nbd_error != 0)
            {
              send_error_reply (connection, request + 8, nbd_error);
              break;
            }

          /* Back-pressure: a client cannot make the server hold more than
           * MAX_IN_FLIGHT requests or MAX_IN_FLIGHT_BYTES of buffers. */
          g_mutex_lock (&connection->lock);
          while (connection->in_flight >= MAX_IN_FLIGHT ||
                 (connection->in_flight > 0 && connection->in_flight_bytes + length > MAX_IN_FLIGHT_BYTES))
            g_cond_wait (&connection->cond, &connection->lock);
          idle = connection->in_flight == 0 && in.start == in.end;
          connection->in_flight++;
          connection->in_flight_bytes += length;
          g_mutex_unlock (&connection->lock);

          job = g_new0 (ReadJob, 1);
          job->connection = connection_ref (connection);
          memcpy (job->handle, request + 8, 8);
          job->offset = offset;
          job->length = length;
          /* A read while nothing else is in flight or waiting is served here:
           * handing it to a worker would cost two thread switches, the
           * better part of a small read's latency (a guest reading one
           * block at a time). Up to ONE_SEND_MAX it is copied and goes
           * out in one send: a header sent on its own would wake the
           * waiting client once for the header and again for the data.
           * Larger reads, and every read with others in flight (the
           * client is busy reading earlier replies), go out from the
           * page cache without a copy. */
          job->inline_read = idle;
          if (idle)
            read_job_cb (job, NULL);
          else
            g_thread_pool_push (connection->pool, job, NULL);
          break;

        case NBD_CMD_WRITE:
          /* The payload must be read to stay in step; one larger than any
           * request we allow is a client we stop talking to. */
          if (length > MAX_READ || !incoming_take (connection, &in, NULL, length))
            return;
          send_error_reply (connection, request + 8, NBD_EPERM);
          break;

        case NBD_CMD_DISC:
          return;

        case NBD_CMD_TRIM:
        case NBD_CMD_WRITE_ZEROES:
        case NBD_CMD_RESIZE:
          send_error_reply (connection, request + 8, NBD_EPERM);
          break;

        default:
          /* FLUSH, CACHE and BLOCK_STATUS were not offered; the rest is unknown. */
          send_error_reply (connection, request + 8, NBD_EINVAL);
          break;
        }
    }
}

/* --- Handshake --------------------------------------------------------- */

static gboolean
send_option_reply (Connection *connection,
                   guint32     option,
                   guint32     type,
                   const void *data,
                   gsize       length)
{
  guint8 header[20];

  put64 (header, NBD_REP_MAGIC);
  put32 (header + 8, option);
  put32 (header + 12, type);
  put32 (header + 16, (guint32)length);
  return send_all (connection->socket, header, sizeof header) &&
         (length == 0 || send_all (connection->socket, data, length));
}

static guint16
transmission_flags (void)
{
  /* Read-only, and every connection sees the same bytes. */
  return NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY | NBD_FLAG_CAN_MULTI_CONN;
}

static gboolean
name_is_ours (State      *state,
              const char *name,
              gsize       length)
{
  return length == 0 ||
         (length == strlen (state->export_name) && memcmp (name, state->export_name, length) == 0);
}

static gboolean
send_info (Connection *connection,
           guint32     option,
           guint16     type)
{
  State *state = connection->state;
  guint8 info[2 + MAX_STRING];
  gsize  length = 2;

  put16 (info, type);
  switch (type)
    {
    case NBD_INFO_EXPORT:
      put64 (info + 2, state->size);
      put16 (info + 10, transmission_flags ());
      length = 12;
      break;
    case NBD_INFO_NAME:
      length += MIN (strlen (state->export_name), (gsize)MAX_STRING);
      memcpy (info + 2, state->export_name, length - 2);
      break;
    case NBD_INFO_DESCRIPTION:
      length += MIN (strlen (state->description), (gsize)MAX_STRING);
      memcpy (info + 2, state->description, length - 2);
      break;
    case NBD_INFO_BLOCK_SIZE:
      put32 (info + 2, state->min_block);
      put32 (info + 6, state->preferred_block);
      put32 (info + 10, MAX_READ);
      length = 14;
      break;
    default:
      return TRUE; /* unknown requests are ignored, as the spec says */
    }
  return send_option_reply (connection, option, NBD_REP_INFO, info, length);
}

/* NBD_OPT_INFO and NBD_OPT_GO: name, then the information requested. TRUE
 * with *@go set when transmission starts. */
static gboolean
option_info (Connection   *connection,
             guint32       option,
             const guint8 *data,
             guint32       length,
             gboolean     *go)
{
  State   *state = connection->state;
  guint32  name_length;
  guint16  n_requests;
  gboolean block_size_asked = FALSE;

  if (length < 6 || (name_length = get32 (data)) > length - 6 || name_length > MAX_STRING)
    return send_option_reply (connection, option, NBD_REP_ERR_INVALID, NULL, 0);
  n_requests = get16 (data + 4 + name_length);
  if ((guint64)length != 6 + (guint64)name_length + 2 * (guint64)n_requests)
    return send_option_reply (connection, option, NBD_REP_ERR_INVALID, NULL, 0);
  if (!name_is_ours (state, (const char *)data + 4, name_length))
    return send_option_reply (connection, option, NBD_REP_ERR_UNKNOWN, NULL, 0);

  /* The export and its block sizes always: a 4096-byte-sector disk must
   * not be read in 512-byte pieces. */
  if (!send_info (connection, option, NBD_INFO_EXPORT) ||
      !send_info (connection, option, NBD_INFO_BLOCK_SIZE))
    return FALSE;
  for (guint i = 0; i < n_requests; i++)
    {
      guint16 type = get16 (data + 6 + name_length + 2 * i);

      if (type == NBD_INFO_BLOCK_SIZE)
        block_size_asked = TRUE;
      if (type == NBD_INFO_NAME || type == NBD_INFO_DESCRIPTION)
        if (!send_info (connection, option, type))
          return FALSE;
    }
  if (!send_option_reply (connection, option, NBD_REP_ACK, NULL, 0))
    return FALSE;

  if (option == NBD_OPT_GO)
    {
      connection->strict_alignment = block_size_asked;
      *go = TRUE;
    }
  return TRUE;
}

static gboolean
option_list (Connection *connection,
             guint32     length)
{
  State   *state = connection->state;
  gsize    described = MIN (strlen (state->description), (gsize)MAX_STRING);
  guint8  *server = NULL;
  gboolean ok;

  if (length != 0)
    return send_option_reply (connection, NBD_OPT_LIST, NBD_REP_ERR_INVALID, NULL, 0);

  /* One export, the default one (""), described by the image's name. */
  server = g_malloc (4 + described);
  put32 (server, 0);
  memcpy (server + 4, state->description, described);
  ok = send_option_reply (connection, NBD_OPT_LIST, NBD_REP_SERVER, server, 4 + described) &&
       send_option_reply (connection, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
  g_free (server);
  return ok;
}

/* TRUE when the client is ready for transmission. */
static gboolean
handshake (Connection *connection)
{
  State   *state = connection->state;
  guint8   greeting[18];
  guint8   client_flags_raw[4];
  guint32  client_flags;
  gboolean fixed, no_zeroes;

  put64 (greeting, NBD_MAGIC);
  put64 (greeting + 8, NBD_IHAVEOPT);
  put16 (greeting + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
  if (!send_all (connection->socket, greeting, sizeof greeting) ||
      !recv_all (connection->socket, client_flags_raw, sizeof client_flags_raw))
    return FALSE;
  client_flags = get32 (client_flags_raw);
  if ((client_flags & ~(guint32)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) != 0)
    return FALSE; /* a flag we did not offer */
  fixed = (client_flags & NBD_FLAG_C_FIXED_NEWSTYLE) != 0;
  no_zeroes = (client_flags & NBD_FLAG_C_NO_ZEROES) != 0;

  for (;;)
    {
      guint8             header[16];
      guint32            option, length;
      g_autofree guint8 *data = NULL;
      gboolean           go = FALSE;

      if (!recv_all (connection->socket, header, sizeof header) || get64 (header) != NBD_IHAVEOPT)
        return FALSE;
      option = get32 (header + 8);
      length = get32 (header + 12);

      if (length > MAX_OPTION)
        {
          if (length > MAX_OPTION_DRAIN || !fixed || !drain (connection->socket, length))
            return FALSE;
          if (!send_option_reply (connection, option, NBD_REP_ERR_TOO_BIG, NULL, 0))
            return FALSE;
          continue;
        }
      data = g_malloc (MAX (length, 1));
      if (!recv_all (connection->socket, data, length))
        return FALSE;

      if (option == NBD_OPT_EXPORT_NAME)
        {
          guint8 reply[10 + 124] = { 0 };

          /* No way to say "no" here but to hang up. */
          if (!name_is_ours (state, (const char *)data, length))
            return FALSE;
          put64 (reply, state->size);
          put16 (reply + 8, transmission_flags ());
          return send_all (connection->socket, reply, no_zeroes ? 10 : sizeof reply);
        }
      /* Without fixed newstyle a client understands no option replies. */
      if (!fixed)
        return FALSE;

      switch (option)
        {
        case NBD_OPT_ABORT:
          send_option_reply (connection, option, NBD_REP_ACK, NULL, 0);
          return FALSE;
        case NBD_OPT_LIST:
          if (!option_list (connection, length))
            return FALSE;
          break;
        case NBD_OPT_INFO:
        case NBD_OPT_GO:
          if (!option_info (connection, option, data, length, &go))
            return FALSE;
          if (go)
            return TRUE;
          break;
        default:
          /* STARTTLS, STRUCTURED_REPLY, meta contexts, extended headers:
           * the client falls back to what is offered. */
          if (!send_option_reply (connection, option, NBD_REP_ERR_UNSUP, NULL, 0))
            return FALSE;
          break;
        }
    }
}

/* --- Connections ------------------------------------------------------- */

static gboolean
emit_client_closed_cb (gpointer user_data)
{
  State *state = user_data;
  g_autoptr (ChronosImageServer) server = g_weak_ref_get (&state->server);

  if (server != NULL)
    g_signal_emit (server, signals[SIGNAL_CLIENT_CLOSED], 0);
  return G_SOURCE_REMOVE;
}

static gpointer
connection_thread (gpointer user_data)
{
  Connection *connection = user_data;
  State      *state = connection->state;

  if (handshake (connection))
    transmission (connection);

  /* Every reply in flight is sent (or fails) before the socket closes. */
  g_thread_pool_free (g_steal_pointer (&connection->pool), FALSE, TRUE);
  g_socket_close (connection->socket, NULL);

  g_mutex_lock (&state->lock);
  g_ptr_array_remove (state->connections, connection);
  g_cond_broadcast (&state->cond);
  g_mutex_unlock (&state->lock);

  /* Always through a source, never g_main_context_invoke(), which would
   * run the handler in this thread when nobody owns the context. */
  {
    GSource *source = g_idle_source_new ();

    g_source_set_callback (source, emit_client_closed_cb, state_ref (state), (GDestroyNotify)state_unref);
    g_source_set_static_name (source, "[chronos] NBD client closed");
    g_source_attach (source, state->context);
    g_source_unref (source);
  }
  connection_unref (connection);
  return NULL;
}

static gpointer
accept_thread (gpointer user_data)
{
  ChronosImageServer *self = user_data;
  State              *state = self->state;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) socket = g_socket_accept (self->listener, self->accept_cancellable, &error);
      Connection *connection;
      GThread    *thread;

      if (socket == NULL)
        {
          if (g_cancellable_is_cancelled (self->accept_cancellable))
            break;
          /* EMFILE and friends: wait a little rather than spin. */
          g_usleep (10 * G_TIME_SPAN_MILLISECOND);
          continue;
        }
      g_socket_set_blocking (socket, TRUE);
      /* Replies of megabytes go out in fewer pieces (the kernel caps this
       * at net.core.wmem_max). */
      g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, 4 * 1024 * 1024, NULL);

      g_mutex_lock (&state->lock);
      if (state->stopping || state->connections->len >= MAX_CONNECTIONS)
        {
          g_mutex_unlock (&state->lock);
          g_socket_close (socket, NULL);
          continue;
        }

      connection = g_new0 (Connection, 1);
      g_atomic_ref_count_init (&connection->ref);
      connection->state = state_ref (state);
      connection->socket = g_steal_pointer (&socket);
      g_mutex_init (&connection->write_lock);
      g_mutex_init (&connection->lock);
      g_cond_init (&connection->cond);
      connection->pool = g_thread_pool_new (read_job_cb, NULL, (gint)state->workers, FALSE, NULL);
      g_ptr_array_add (state->connections, connection);
      g_mutex_unlock (&state->lock);

      /* The thread owns the reference taken by g_atomic_ref_count_init(). */
      thread = g_thread_try_new ("chronos-nbd-conn", connection_thread, connection, &error);
      if (thread == NULL)
        {
          g_mutex_lock (&state->lock);
          g_ptr_array_remove (state->connections, connection);
          g_cond_broadcast (&state->cond);
          g_mutex_unlock (&state->lock);
          g_thread_pool_free (g_steal_pointer (&connection->pool), TRUE, TRUE);
          g_socket_close (connection->socket, NULL);
          connection_unref (connection);
          continue;
        }
      g_thread_unref (thread);
    }

  return NULL;
}

/* --- The object -------------------------------------------------------- */

static void
chronos_image_server_dispose (GObject *object)
{
  chronos_image_server_stop (CHRONOS_IMAGE_SERVER (object));
  G_OBJECT_CLASS (chronos_image_server_parent_class)->dispose (object);
}

static void
chronos_image_server_finalize (GObject *object)
{
  ChronosImageServer *self = CHRONOS_IMAGE_SERVER (object);

  g_clear_object (&self->chain);
  G_OBJECT_CLASS (chronos_image_server_parent_class)->finalize (object);
}

static void
chronos_image_server_class_init (ChronosImageServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = chronos_image_server_dispose;
  object_class->finalize = chronos_image_server_finalize;

  signals[SIGNAL_CLIENT_CLOSED] =
      g_signal_new ("client-closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                    0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
chronos_image_server_init (ChronosImageServer *self)
{
}

ChronosImageServer *
chronos_image_server_new_for_chain (ChronosImageChain *chain)
{
  ChronosImageServer *self;

  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (chain), NULL);

  self = g_object_new (CHRONOS_TYPE_IMAGE_SERVER, NULL);
  self->chain = g_object_ref (chain);
  return self;
}

ChronosImageServer *
chronos_image_server_new (const char *path,
                          GError    **error)
{
  g_autoptr (ChronosImageChain) chain = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  chain = chronos_image_chain_open (path, NULL, error);
  if (chain == NULL)
    return NULL;
  return chronos_image_server_new_for_chain (chain);
}

static void
new_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;
  g_autoptr (ChronosImageChain) chain = chronos_image_chain_open (task_data, cancellable, &error);

  if (chain == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, chronos_image_server_new_for_chain (chain), g_object_unref);
}

void
chronos_image_server_new_async (const char         *path,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_image_server_new_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, new_thread);
}

ChronosImageServer *
chronos_image_server_new_finish (GAsyncResult *result,
                                 GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == chronos_image_server_new_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Makes room for the socket: a stale socket (its server died) is removed;
 * a live one or any other file is left alone and is an error. */
static gboolean
clear_socket_path (const char *socket_path,
                   GError    **error)
{
#ifdef G_OS_UNIX
  GStatBuf st;

  if (g_lstat (socket_path, &st) != 0)
    return TRUE;
  if (!S_ISSOCK (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _ ("“%s” already exists and is not a socket; Chronos does not replace it."), socket_path);
      return FALSE;
    }
  {
    g_autoptr (GSocket) probe = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL);
    g_autoptr (GSocketAddress) address = g_unix_socket_address_new (socket_path);

    if (probe != NULL && g_socket_connect (probe, address, NULL, NULL))
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                     _ ("Another server is already listening on “%s”."), socket_path);
        return FALSE;
      }
  }
  if (g_unlink (socket_path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Could not remove the old socket “%s”: %s."), socket_path, g_strerror (saved_errno));
      return FALSE;
    }
#endif
  return TRUE;
}

gboolean
chronos_image_server_start (ChronosImageServer *self,
                            const char         *socket_path,
                            GError            **error)
{
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autofree char *escaped = NULL;
  State           *state;
  ChronosVhdx     *image;

  g_return_val_if_fail (CHRONOS_IS_IMAGE_SERVER (self), FALSE);
  g_return_val_if_fail (socket_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   _ ("The image is already being served on “%s”."), self->socket_path);
      return FALSE;
    }
  if (strlen (socket_path) > MAX_SOCKET_PATH)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                   _ ("The socket path “%s” is %llu bytes long, but a Unix socket’s path can be at most %u bytes. Choose a shorter one."),
                   socket_path, (unsigned long long)strlen (socket_path), MAX_SOCKET_PATH);
      return FALSE;
    }
  if (!clear_socket_path (socket_path, error))
    return FALSE;

  listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (listener == NULL)
    return FALSE;
  address = g_unix_socket_address_new (socket_path);
  if (!g_socket_bind (listener, address, FALSE, error))
    {
      g_prefix_error (error, _ ("Could not create the socket “%s”: "), socket_path);
      return FALSE;
    }
#ifdef G_OS_UNIX
  {
    GStatBuf st;

    /* Only this user may read the backup through the socket. */
    g_chmod (socket_path, 0600);
    if (g_lstat (socket_path, &st) == 0)
      {
        self->socket_dev = (guint64)st.st_dev;
        self->socket_ino = (guint64)st.st_ino;
      }
  }
#endif
  g_socket_set_listen_backlog (listener, 16);
  if (!g_socket_listen (listener, error))
    {
      g_unlink (socket_path);
      return FALSE;
    }

  image = chronos_image_chain_get_image (self->chain, 0);
  state = g_atomic_rc_box_new0 (State);
  state->chain = g_object_ref (self->chain);
  state->size = chronos_image_chain_get_virtual_size (self->chain);
  state->min_block = chronos_image_chain_get_logical_sector_size (self->chain);
  state->preferred_block = MAX (state->min_block, 4096u);
  state->export_name = g_path_get_basename (chronos_vhdx_get_path (image));
  state->description = g_strdup_printf ("%s (read-only, Chronos)", state->export_name);
  state->workers = CLAMP (g_get_num_processors (), 2u, 8u);
  state->poll = g_get_num_processors () > 1;
  g_mutex_init (&state->lock);
  g_cond_init (&state->cond);
  state->connections = g_ptr_array_new ();
  state->context = g_main_context_ref_thread_default ();
  g_weak_ref_init (&state->server, self);

  escaped = g_uri_escape_string (socket_path, "/", FALSE);
  self->state = state;
  self->listener = g_steal_pointer (&listener);
  self->socket_path = g_strdup (socket_path);
  self->nbd_uri = g_strdup_printf ("nbd+unix:///?socket=%s", escaped);
  self->accept_cancellable = g_cancellable_new ();
  self->accept_thread = g_thread_new ("chronos-nbd-accept", accept_thread, self);
  return TRUE;
}

void
chronos_image_server_stop (ChronosImageServer *self)
{
  State *state;

  g_return_if_fail (CHRONOS_IS_IMAGE_SERVER (self));

  if (self->state == NULL)
    return;
  state = self->state;

  g_cancellable_cancel (self->accept_cancellable);
  g_thread_join (g_steal_pointer (&self->accept_thread));
  g_socket_close (self->listener, NULL);

  /* Shutting a socket down wakes its thread from any receive or send. */
  g_mutex_lock (&state->lock);
  state->stopping = TRUE;
  for (guint i = 0; i < state->connections->len; i++)
    {
      Connection *connection = g_ptr_array_index (state->connections, i);

      g_socket_shutdown (connection->socket, TRUE, TRUE, NULL);
    }
  while (state->connections->len > 0)
    g_cond_wait (&state->cond, &state->lock);
  g_mutex_unlock (&state->lock);

#ifdef G_OS_UNIX
  {
    GStatBuf st;

    /* Only our own socket: someone may have put another there since. */
    if (g_lstat (self->socket_path, &st) == 0 && S_ISSOCK (st.st_mode) &&
        (guint64)st.st_dev == self->socket_dev && (guint64)st.st_ino == self->socket_ino)
      g_unlink (self->socket_path);
  }
#else
  g_unlink (self->socket_path);
#endif

  g_clear_object (&self->listener);
  g_clear_object (&self->accept_cancellable);
  g_clear_pointer (&self->socket_path, g_free);
  g_clear_pointer (&self->nbd_uri, g_free);
  self->state = NULL;
  state_unref (state);
}

ChronosImageChain *
chronos_image_server_get_chain (ChronosImageServer *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_SERVER (self), NULL);
  return self->chain;
}

const char *
chronos_image_server_get_socket_path (ChronosImageServer *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_SERVER (self), NULL);
  return self->socket_path;
}

const char *
chronos_image_server_get_nbd_uri (ChronosImageServer *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_SERVER (self), NULL);
  return self->nbd_uri;
}

guint
chronos_image_server_get_n_clients (ChronosImageServer *self)
{
  guint n;

  g_return_val_if_fail (CHRONOS_IS_IMAGE_SERVER (self), 0);

  if (self->state == NULL)
    return 0;
  g_mutex_lock (&self->state->lock);
  n = self->state->connections->len;
  g_mutex_unlock (&self->state->lock);
  return n;
}
