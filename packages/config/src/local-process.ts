/**
 * The V8 flags every local service process starts with (`npm start`, `npm run service`, the bench,
 * the chaos runs): what Lambda's function memory does in AWS, bounding the heap to what the work
 * needs. Without them V8 sizes its heap from the machine: on a 24 GB machine semi-spaces of 64 MiB
 * (the young generation holds 128 MB once busy), and an old generation left to grow well past its live data before it is collected,
 * so each of the seven processes of a 10,000-document run peaked at 350–420 MB with 40 MB live.
 * - `--max-semi-space-size=4`: a young generation of 3 × 4 MiB (≈ 130 MB of peak RSS less);
 *   scavenges are more frequent but each is smaller (no CPU per message measured beyond the
 *   runs' noise).
 * - `--heap-growing-percent=20`: the old generation is collected once it grew 20 % past what
 *   survived the last collection, not 2–4× (≈ 90 MB less).
 * Neither caps the heap: a process that holds large documents still grows to V8's limit
 * (`--max-old-space-size` would make that an out-of-memory crash). Measured with the bench's
 * overhead scenario, 2,000 documents: stage processes 230–420 MB → 150–157 MB peak.
 */
export const LOCAL_SERVICE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4", "--heap-growing-percent=20"];
