// Re-render a bench result's markdown and chart from its JSON: node bench/src/render.ts bench/results/<run>.json
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { planThroughput } from "@quire/bedrock";
import { renderAdaptationChart, renderChart, renderMarkdown, type BenchReport } from "./report.ts";

const file = process.argv[2];
if (!file?.endsWith(".json")) {
  console.error("usage: node bench/src/render.ts bench/results/<run>.json");
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, "utf8")) as BenchReport;
const settings = report.settings as {
  documents: number;
  latencyMeanMs: number;
  requestsPerMinute: number;
  tokensPerMinute: number;
};
const plan = planThroughput({
  documents: settings.documents,
  callsPerDocument: 2,
  meanLatencySeconds: settings.latencyMeanMs / 1000,
  meanTokensPerCall: report.governor.bedrock.meanTokensPerCall,
  quota: { requestsPerMinute: settings.requestsPerMinute, tokensPerMinute: settings.tokensPerMinute },
});
const stem = file.replace(/\.json$/, "");
const markdown = renderMarkdown(report);
writeFileSync(`${stem}.md`, markdown);
writeFileSync(`${stem}.svg`, renderChart(report.governor, report.baseline, plan.concurrency));
if (report.adaptation?.length) writeFileSync(`${stem}-adaptation.svg`, renderAdaptationChart(report));
process.stdout.write(markdown);
console.error(`written: ${basename(stem)}.{md,svg}`);
