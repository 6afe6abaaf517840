/* A bounded queue of pointers between pipeline stages (decode -> encode -> write).
 *
 * Push blocks while the queue is full (back-pressure: a fast decoder waits for a slow
 * encoder instead of buffering the recording); pop blocks while it is empty. Closing the
 * queue ends the stream: pops drain what is left and then return RV_EOF. Aborting it
 * wakes everyone at once with the error, so a failing stage stops the others. */
#ifndef RINGVIT_QUEUE_IMPL_H
#define RINGVIT_QUEUE_IMPL_H

#include <ringvit/status.h>

typedef struct rv_queue rv_queue;

rv_status rv_queue_init(int capacity, rv_queue **out);
void rv_queue_free(rv_queue *q); /* NULL-safe; the items still queued are not freed */

/* RV_OK, or the abort status when the queue was aborted (the item was not queued). */
rv_status rv_queue_push(rv_queue *q, void *item);
/* RV_OK with *item, RV_EOF when closed and drained, or the abort status. */
rv_status rv_queue_pop(rv_queue *q, void **item);

void rv_queue_close(rv_queue *q);                  /* no more pushes */
void rv_queue_abort(rv_queue *q, rv_status error); /* error < 0; wakes every waiter */
int rv_queue_length(rv_queue *q);

#endif
