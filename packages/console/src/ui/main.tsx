import "./styles.css";
import type { QuireClient } from "@quire/cli/client";
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ErrorNote } from "./components.tsx";
import { DeadLettersPage } from "./pages/dead-letters.tsx";
import { JobPage } from "./pages/job.tsx";
import { OutboxPage } from "./pages/outbox.tsx";
import { RunPage } from "./pages/run.tsx";
import { RunsPage } from "./pages/runs.tsx";
import { DeliveryPage, SubscriptionPage, SubscriptionsPage } from "./pages/subscriptions.tsx";
import { ThroughputPage } from "./pages/throughput.tsx";
import { href, type Route, useRoute } from "./router.ts";
import { clientFor, type ConsoleConfig, forgetKey, loadConfig, storedKey, storeKey } from "./session.ts";

function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [configError, setConfigError] = useState<Error>();
  const [apiKey, setApiKey] = useState(storedKey);
  useEffect(() => {
    loadConfig().then(setConfig, setConfigError);
  }, []);
  const client = useMemo(() => (config && apiKey ? clientFor(config, apiKey) : undefined), [config, apiKey]);
  if (configError) return <ErrorNote error={configError} />;
  if (!config) return null;
  if (!client)
    return (
      <KeyForm
        onKey={(key) => {
          storeKey(key);
          setApiKey(key);
        }}
      />
    );
  return (
    <Layout
      config={config}
      onSignOut={() => {
        forgetKey();
        setApiKey(undefined);
      }}
    >
      <Page client={client} config={config} />
    </Layout>
  );
}

const NAV: [string, string, Route["page"][]][] = [
  ["Runs", href.runs(), ["runs", "run", "job"]],
  ["Dead letters", href.deadLetters(), ["dead-letters"]],
  ["Subscriptions", href.subscriptions(), ["subscriptions", "subscription", "delivery"]],
  ["Throughput", href.throughput(), ["throughput"]],
];

function Layout({
  config,
  onSignOut,
  children,
}: {
  config: ConsoleConfig;
  onSignOut: () => void;
  children: preact.ComponentChildren;
}) {
  const route = useRoute();
  const nav = config.outbox ? [...NAV, ["Email outbox", href.outbox(), ["outbox"]] as (typeof NAV)[number]] : NAV;
  return (
    <>
      {/* A fragment that is not a route ("#main") moves focus and leaves the page where it is (router.ts). */}
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Quire</span>
        <nav aria-label="Sections">
          {nav.map(([label, link, pages]) => (
            <a key={link} href={link} aria-current={pages.includes(route.page) ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button type="button" class="sign-out" onClick={onSignOut}>
          Forget key
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function Page({ client, config }: { client: QuireClient; config: ConsoleConfig }) {
  const route = useRoute();
  useEffect(() => {
    document.title = `Quire — ${route.page.replace(/-/g, " ")}`;
  }, [route]);
  switch (route.page) {
    case "runs":
      return <RunsPage client={client} />;
    case "run":
      return <RunPage client={client} runId={route.runId} />;
    case "job":
      return <JobPage client={client} jobId={route.jobId} />;
    case "dead-letters":
      return <DeadLettersPage client={client} />;
    case "subscriptions":
      return <SubscriptionsPage client={client} />;
    case "subscription":
      return <SubscriptionPage client={client} subscriptionId={route.subscriptionId} />;
    case "delivery":
      return <DeliveryPage client={client} deliveryId={route.deliveryId} />;
    case "throughput":
      return <ThroughputPage client={client} />;
    case "outbox":
      return config.outbox ? <OutboxPage path={config.outbox} /> : <p>There is no outbox here.</p>;
    case "not-found":
      return (
        <p>
          Nothing at <code>{route.path}</code>. <a href={href.runs()}>See the runs</a>.
        </p>
      );
  }
}

/**
 * The one credential the console holds: an API key the user types (a key of scope jobs:read
 * reads runs and jobs; dead letters and subscriptions need their own scopes, and the API says
 * which is missing). It is kept for this tab only.
 */
function KeyForm({ onKey }: { onKey: (key: string) => void }) {
  const [key, setKey] = useState("");
  return (
    <main id="main" class="sign-in">
      <h1>Quire console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) onKey(key.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onInput={(event) => setKey((event.target as HTMLInputElement).value)}
          aria-describedby="api-key-help"
        />
        <p id="api-key-help" class="muted">
          Sent only as <code>x-api-key</code> to this deployment's APIs, and kept for this tab only. Locally,{" "}
          <code>npm start</code> prints where the key is.
        </p>
        <button type="submit">Open the console</button>
      </form>
    </main>
  );
}

render(<App />, document.getElementById("app")!);
