/**
 * The V8 flags every local service process starts with (`npm start`, `npm run service`, the bench,
 * the chaos runs): what Lambda's function memory does in AWS, bounding the heap to what the work
 * needs. Without them V8 sizes its heap from the machine: on a 24 GB machine semi-spaces of 64 MiB
 * (the young generation holds 128 MB once busy), and an old generation left to grow well past its
 * live data before it is collected, so each process of a 10,000-document run peaked at 350–420 MB
 * with about 40 MB live.
 * - `--max-semi-space-size=8`: the young generation holds at most 2 × 8 MiB;
 * - `--heap-growing-percent=40`: the old generation is collected once it grew 40 % past what
 *   survived the last collection.
 * Neither caps the heap: a process that holds large documents still grows to V8's limit
 * (`--max-old-space-size` would turn that into an out-of-memory crash).
 * Measured with the bench's overhead scenario (5,000 documents, zero-latency model), peak RSS and
 * CPU per message of the summarizer, classifier and notifier processes:
 *   no flags                    364–409 MB   13.5 / 10.9 / 4.9 ms
 *   semi-space 4                244–280 MB   14.5 / 12.4 / 5.4 ms
 *   semi-space 4, growing 20 %  153–162 MB   14.9 / 12.4 / 5.7 ms
 *   semi-space 8, growing 40 %  167–176 MB   13.6 / 10.5 / 5.1 ms   ← these
 */
export const LOCAL_SERVICE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8", "--heap-growing-percent=40"];
