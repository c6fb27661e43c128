import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` now and again every `everyMs` (0: once) while the page shows it. A poll never
 * overlaps the previous one, and an answer that arrives after the page moved on is dropped.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 0): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = useCallback(async (mine: number) => {
    try {
      const data = await loadRef.current();
      if (generation.current === mine) setState({ data, error: undefined, loading: false });
    } catch (error) {
      if (generation.current === mine) setState((s) => ({ data: s.data, error: error as Error, loading: false }));
    }
  }, []);
  useEffect(() => {
    const mine = ++generation.current;
    setState({ data: undefined, error: undefined, loading: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const tick = async () => {
      await run(mine);
      if (!stopped && everyMs > 0) timer = setTimeout(tick, everyMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      generation.current++;
    };
  }, deps);
  return { ...state, reload: () => void run(generation.current) };
}

/** An API failure as the API said it: its code and message (401 and 403 say which key or scope). */
export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = (error as { code?: string }).code;
  return (
    <p class="error" role="alert">
      {code ? <strong>{code}: </strong> : null}
      {error.message}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

const STATUS_CLASS: Record<string, string> = {
  complete: "ok",
  succeeded: "ok",
  done: "ok",
  active: "ok",
  delivered: "ok",
  failed: "bad",
  disabled: "bad",
  gone: "bad",
  refused: "bad",
  retrying: "warn",
  running: "info",
  processing: "info",
  sending: "info",
  pending: "muted",
  pending_confirmation: "warn",
  closed: "ok",
  open: "bad",
  "half-open": "warn",
};

export function Status({ value }: { value: string }) {
  return <span class={`status ${STATUS_CLASS[value] ?? "muted"}`}>{value.replace(/_/g, " ")}</span>;
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="panel" aria-label={title}>
      <header class="panel-head">
        <h2>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** Key–value facts, as a description list. */
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * Cursor paging as the APIs give it: forward with `nextCursor`, back through the cursors
 * already followed. Pages are exact (the API's own cursor), never offsets that shift.
 */
export function useCursorPages() {
  const [trail, setTrail] = useState<(string | undefined)[]>([undefined]);
  const cursor = trail[trail.length - 1];
  return {
    cursor,
    page: trail.length,
    next: (nextCursor: string) => setTrail((t) => [...t, nextCursor]),
    previous: () => setTrail((t) => (t.length > 1 ? t.slice(0, -1) : t)),
    reset: () => setTrail([undefined]),
  };
}

export function Pager({
  page,
  nextCursor,
  onNext,
  onPrevious,
}: {
  page: number;
  nextCursor: string | undefined;
  onNext: (cursor: string) => void;
  onPrevious: () => void;
}) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" onClick={onPrevious} disabled={page <= 1}>
        Previous page
      </button>
      <span>Page {page}</span>
      <button type="button" onClick={() => nextCursor && onNext(nextCursor)} disabled={!nextCursor}>
        Next page
      </button>
    </nav>
  );
}

/** A button for an action on the API: disabled while it runs, then says what happened. */
export function ActionButton({
  label,
  run,
  confirm: question,
}: {
  label: string;
  run: () => Promise<string>;
  confirm?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  return (
    <span class="action">
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          if (question && !window.confirm(question)) return;
          setBusy(true);
          try {
            setOutcome({ ok: true, text: await run() });
          } catch (error) {
            const code = (error as { code?: string }).code;
            setOutcome({ ok: false, text: `${code ? `${code}: ` : ""}${(error as Error).message}` });
          } finally {
            setBusy(false);
          }
        }}
      >
        {label}
      </button>
      {outcome ? (
        <span class={outcome.ok ? "outcome ok-text" : "outcome error"} role="status">
          {outcome.text}
        </span>
      ) : null}
    </span>
  );
}

/** One column of a DataTable: its header, and what each row shows in it. */
export interface Column<T> {
  header: ComponentChildren;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
  /** The cell names its row (`<th scope="row">`), for screen readers reading across. */
  rowHeader?: boolean;
  cell: (row: T) => ComponentChildren;
}

/**
 * Every list in the console: a caption for screen readers (the visible heading is the section's),
 * column headers with their scope, and a row per item.
 */
export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
}: {
  caption: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
}) {
  return (
    <table>
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((column, i) => (
            <th key={i} scope="col" class={column.numeric ? "num" : undefined}>
              {column.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)}>
            {columns.map((column, i) =>
              column.rowHeader ? (
                <th key={i} scope="row">
                  {column.cell(row)}
                </th>
              ) : (
                <td key={i} class={column.numeric ? "num" : undefined}>
                  {column.cell(row)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
